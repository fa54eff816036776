// The identity of a weights file: runs name the exact weights they were trained from or evaluated
// with by this hash, so a file changed since is caught rather than silently mixed in.
import * as crypto from "node:crypto";
import * as fs from "node:fs";

/** sha256 of a file's bytes, in hex; read in 4 MB chunks, so a large ONNX model is never held whole. */
export function fileSha256(file: string): string {
  const hash = crypto.createHash("sha256");
  const fd = fs.openSync(file, "r");
  try {
    const buf = Buffer.alloc(1 << 22);
    let n: number;
    while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) hash.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest("hex");
}
