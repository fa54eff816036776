// The project root, found once. realpath: notebooks reach lib/ through the notebooks/lib symlink,
// and every default path (data/, outputs/, native/) belongs to the real project root.
import * as fs from "node:fs";
import * as path from "node:path";

export const PROJECT_ROOT = path.resolve(fs.realpathSync(__dirname), "..", "..");

/** A path under the project root. */
export function projectPath(...parts: string[]): string {
  return path.join(PROJECT_ROOT, ...parts);
}
