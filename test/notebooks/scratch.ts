// Throwaway notebooks for the runner's own tests. They live in a temporary
// folder inside the project (under the git-ignored outputs/) because the tslab
// kernel is started with `npx --no-install tslab`, which resolves only inside
// the project tree; a `lib` link makes `./lib/...` imports work as in notebooks/.
import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT_ROOT } from "../../lib/notebook/run";

export interface Scratch {
  dir: string;
  /** Write a notebook of code cells (strings) and markdown cells ({ markdown }); returns its path. */
  notebook(name: string, cells: (string | { markdown: string })[]): string;
  remove(): void;
}

export function scratchDir(): Scratch {
  const parent = path.join(PROJECT_ROOT, "outputs");
  fs.mkdirSync(parent, { recursive: true });
  const dir = fs.mkdtempSync(path.join(parent, ".scratch-"));
  fs.symlinkSync(path.relative(dir, path.join(PROJECT_ROOT, "lib")), path.join(dir, "lib"));
  return {
    dir,
    notebook(name, cells) {
      const file = path.join(dir, name);
      const nb = {
        cells: cells.map((c, i) =>
          typeof c === "string"
            ? { cell_type: "code", execution_count: null, id: `cell-${i}`, metadata: {}, outputs: [], source: c }
            : { cell_type: "markdown", id: `cell-${i}`, metadata: {}, source: c.markdown },
        ),
        metadata: { kernelspec: { name: "tslab", display_name: "TypeScript (tslab)", language: "typescript" } },
        nbformat: 4,
        nbformat_minor: 5,
      };
      fs.writeFileSync(file, JSON.stringify(nb, null, 1));
      return file;
    },
    remove() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
