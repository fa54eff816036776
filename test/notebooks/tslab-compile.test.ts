// Notebooks load lib/ through tslab, which differs from tsc + node in two ways
// that the project's own type check cannot see:
//   - it compiles with its own, non-strict settings (no strictNullChecks), so
//     some code that passes strict `tsc` fails there, e.g. narrowing a union on
//     a boolean `ok` field;
//   - its loader resolves a relative import only to a file (`./x` -> `./x.ts`),
//     never to a folder's index.ts, so `import "./engine"` fails at run time.
// Both are checked here without starting a kernel.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT_ROOT } from "../../lib/notebook/run";

test("lib/ type-checks under tslab's non-strict compiler settings", () => {
  const tsc = path.join(PROJECT_ROOT, "node_modules", "typescript", "bin", "tsc");
  // The project's tsconfig with strict off, over lib/ only (tests never run in tslab).
  const config = path.join(__dirname, "tsconfig.tslab.json");
  const r = spawnSync(process.execPath, [tsc, "--noEmit", "-p", config], { encoding: "utf8" });
  assert.equal(r.status, 0, `tsc -p test/notebooks/tsconfig.tslab.json:\n${r.stdout}${r.stderr}`);
});

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [p] : [];
  });
}

function notebookCode(file: string): string {
  const nb = JSON.parse(fs.readFileSync(file, "utf8")) as { cells: { cell_type: string; source: string | string[] }[] };
  return nb.cells
    .filter((c) => c.cell_type === "code")
    .map((c) => (Array.isArray(c.source) ? c.source.join("") : c.source))
    .join("\n");
}

test("relative imports in lib/ and notebooks/ name files, not folders", () => {
  const sources: [string, string][] = tsFiles(path.join(PROJECT_ROOT, "lib")).map((f) => [f, fs.readFileSync(f, "utf8")]);
  const notebooks = path.join(PROJECT_ROOT, "notebooks");
  for (const f of fs.readdirSync(notebooks).filter((n) => n.endsWith(".ipynb"))) {
    sources.push([path.join(notebooks, f), notebookCode(path.join(notebooks, f))]);
  }
  const specifier = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)["'](\.{1,2}\/[^"']*)["']/gm;
  const bad: string[] = [];
  for (const [file, text] of sources) {
    for (const m of text.matchAll(specifier)) {
      const target = path.resolve(path.dirname(file), m[1]);
      const isFile = [".ts", ".js", ".json", ""].some((ext) => fs.existsSync(target + ext) && fs.statSync(target + ext).isFile());
      if (!isFile && fs.existsSync(path.join(target, "index.ts"))) {
        bad.push(`${path.relative(PROJECT_ROOT, file)}: "${m[1]}" is a folder; import "${m[1]}/index"`);
      }
    }
  }
  assert.deepEqual(bad, []);
});
