// The identity of a weights file: runs name the exact weights they were trained from or evaluated
// with by this hash, so a file changed since is caught rather than silently mixed in.
import * as crypto from "node:crypto";
import * as fs from "node:fs";

/** sha256 of a file's bytes, in hex. */
export function fileSha256(file: string): string {
  return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}
