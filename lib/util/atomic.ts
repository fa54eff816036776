// Every file the workbench produces (checkpoints, caches, results, figures) is
// written to a temporary file beside its target and then renamed over it, so a
// killed run leaves either the old file or the new one, never half of one.
import * as fs from "node:fs";
import * as path from "node:path";
import writeFileAtomic from "write-file-atomic";

/** Atomically write `data` to `file`, creating parent folders as needed. */
export function writeFileAtomicSync(file: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic.sync(file, data as string | Buffer, { fsync: true });
}

/** Atomically write `value` as pretty JSON (with a trailing newline). */
export function writeJsonAtomicSync(file: string, value: unknown): void {
  writeFileAtomicSync(file, JSON.stringify(value, null, 2) + "\n");
}
