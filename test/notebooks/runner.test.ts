// The headless runner reports a failing cell with its source and its error
// (tslab puts errors on the cell's stderr; nbclient's own error text is empty).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { executeNotebook, formatFailure, PROJECT_ROOT, joinText, NbOutput, notebookCells } from "../../lib/notebook/run";
import { scratchDir } from "./scratch";


const textOf = (o: NbOutput) => joinText(o.text);

test("a throwing cell is reported with its source and error; later cells do not run", async () => {
  const scratch = scratchDir();
  try {
    const file = scratch.notebook("fails.ipynb", [
      { markdown: "# scratch" },
      'console.log("first cell ran");',
      'const reason = "deliberate failure 4711";\nthrow new Error(reason);',
      'console.log("must not run");',
    ]);
    const run = await executeNotebook(file, { timeoutSec: 120 });
    assert.equal(run.ok, false);
    assert.equal(run.failure?.index, 2);
    assert.match(run.failure!.source, /throw new Error\(reason\)/);
    assert.match(run.failure!.error, /Error: deliberate failure 4711/);
    const report = formatFailure(run);
    assert.match(report, /cell 3 failed/);
    assert.match(report, /throw new Error\(reason\)[\s\S]*deliberate failure 4711/);
    const cells = notebookCells(run.notebookJson!);
    assert.equal(textOf(cells[1].outputs![0]), "first cell ran\n");
    assert.deepEqual(cells[3].outputs, []);
  } finally {
    scratch.remove();
  }
});

test("a type error is reported with the compiler's message", async () => {
  const scratch = scratchDir();
  try {
    const file = scratch.notebook("type-error.ipynb", ['const n: number = "not a number";']);
    const run = await executeNotebook(file, { timeoutSec: 120 });
    assert.equal(run.ok, false);
    assert.equal(run.failure?.index, 0);
    assert.match(run.failure!.error, /Type 'string' is not assignable to type 'number'/);
  } finally {
    scratch.remove();
  }
});

const CLI = path.join(PROJECT_ROOT, "scripts", "run-notebooks.ts");

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], { cwd: PROJECT_ROOT });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b));
    child.stderr.on("data", (b: Buffer) => (stderr += b));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

test("run-notebooks: bad input is one error line and exit code 2", async () => {
  for (const args of [["--timeout", "-3"], ["no-such-notebook"], ["--out", "x", "--inplace"], ["--frobnicate"]]) {
    const r = await runCli(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, /^error: [^\n]+\n$/);
  }
});

test("run-notebooks: a failing notebook prints its cell and error, exits 1, and --out keeps the partial copy", async () => {
  const scratch = scratchDir();
  try {
    const file = scratch.notebook("cli-fails.ipynb", ['console.log("ok so far");', 'throw new RangeError("value 99 out of range");']);
    const out = path.join(scratch.dir, "executed");
    const r = await runCli(["--out", out, file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cell 2 failed\n {2}source:\n {4}throw new RangeError\("value 99 out of range"\);\n {2}error:\n[\s\S]*RangeError: value 99 out of range/);
    assert.match(r.stderr, /error: 1 of 1 notebooks failed: cli-fails\.ipynb\n$/);
    const copy = notebookCells(fs.readFileSync(path.join(out, "cli-fails.ipynb"), "utf8"));
    assert.equal(textOf(copy[0].outputs![0]), "ok so far\n");
    const source = notebookCells(fs.readFileSync(file, "utf8"));
    assert.deepEqual(source.map((c) => c.outputs), [[], []], "the source notebook was modified");
  } finally {
    scratch.remove();
  }
});
