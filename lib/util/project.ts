// The project root, found once. realpath: notebooks reach lib/ through the notebooks/lib symlink,
// and every default path (data/, outputs/, native/) belongs to the real project root.
import * as fs from "node:fs";
import * as path from "node:path";

export const PROJECT_ROOT = path.resolve(fs.realpathSync(__dirname), "..", "..");

/** A path under the project root. */
export function projectPath(...parts: string[]): string {
  return path.join(PROJECT_ROOT, ...parts);
}

/** A path relative to the project root when inside it, else absolute: configs then carry no machine path. */
export function projectRelative(p: string): string {
  const rel = path.relative(PROJECT_ROOT, path.resolve(p));
  return rel.startsWith("..") || path.isAbsolute(rel) ? path.resolve(p) : rel;
}
