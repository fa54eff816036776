// npm run reproduce end to end on a tiny grid: the quick scale, the classical teacher (runs on any
// image), a six-image training folder and one test set. The grid trains, evaluates and prints the
// ablation table; run again, it finds every run finished and trains nothing.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { readRun } from "../../lib/training/runs";
import { readSummary, runSummaryFile } from "../../lib/training/results";
import { SCALES } from "../../lib/training/scales";
import { makeTinyImageFolder } from "./fixtures";

const ROOT = path.resolve(__dirname, "../..");
const SCRIPT = path.join(ROOT, "scripts/reproduce.ts");
const DATASET = path.join(ROOT, "data/hpatches-sample");
let root: string;

before(async () => {
  root = await makeTinyImageFolder(64);
});
after(() => fs.rmSync(root, { recursive: true, force: true }));

const run = (extra: string[] = []) =>
  spawnSync(
    process.execPath,
    ["--import", "tsx", SCRIPT, "--scale", "quick", "--teachers", "classical", "--rows", "baseline,full", "--other-seeds", "0",
      "--images", path.join(root, "images"), "--cache", path.join(root, "cache"), "--out", path.join(root, "runs"),
      "--datasets", "data/hpatches-sample", "--no-workbook", "--no-desdis", "--quiet", ...extra],
    { encoding: "utf8", cwd: ROOT },
  );

test("bad flags: one error line, exit 2, nothing trained", () => {
  for (const [flags, re] of [
    [["--scale", "huge"], /^error: --scale huge: expected one of default, quick\n$/],
    [["--rows", "baseline,bogus"], /^error: --rows baseline,bogus: 'bogus' is not one of baseline, psrd, psrd-wsc, full\n$/],
    [["--datasets", "data/nowhere"], /^error: --datasets .*nowhere: not a folder\n$/],
  ] as [string[], RegExp][]) {
    const r = run(flags);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, re);
  }
  assert.equal(fs.existsSync(path.join(root, "runs")), false);
});

test("reproduce trains the grid, evaluates each run and prints the table; a second call trains nothing", () => {
  const first = run();
  assert.equal(first.status, 0, first.stderr);
  const steps = SCALES.quick.steps!;
  assert.match(first.stdout, new RegExp(`grid \\(quick scale\\): 2 runs \\(classical × baseline, full\\); 0 finished, 2 to train \\(${2 * steps} steps\\)`));
  const dirs = fs.readdirSync(path.join(root, "runs")).filter((d) => !d.startsWith("."));
  assert.deepEqual(dirs.map((d) => d.replace(/-[0-9a-f]{10}$/, "")).sort(), ["baseline-classical-w0.25-s48-b2-n12-seed0", "full-classical-w0.25-s48-b2-n12-seed0"]);
  for (const d of dirs) {
    const r = readRun(path.join(root, "runs", d));
    assert.equal(r.finished, true);
    assert.ok(r.weights);
    assert.deepEqual(r.train.map((t) => t.step), Array.from({ length: steps }, (_, i) => i + 1));
    const summary = readSummary(runSummaryFile(r.dir, DATASET));
    assert.ok(summary, `${d}: no evaluation on hpatches-sample`);
    assert.equal(summary.pairs, 10);
    // The table printed by eval-runs shows this run's MMA@3 (a single seed: the mean itself).
    const mma3 = (100 * summary.mma[2]!).toFixed(1);
    assert.ok(first.stdout.includes(mma3), `${d}: MMA@3 ${mma3} not in the printed table`);
  }
  assert.ok(fs.existsSync(path.join(root, "ablation-table.csv")), "the table is written beside the runs folder");

  const again = run();
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /2 finished, 0 to train \(0 steps\)/);
});
