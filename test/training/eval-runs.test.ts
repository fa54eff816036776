import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { initEngine } from "../../lib/engine/index";
import { resolveConfig } from "../../lib/training/config";
import { train } from "../../lib/training/trainer";
import { makeTinyDataset } from "../eval/fixtures";
import { makeTinyImageFolder, tinySources } from "./fixtures";

const ROOT = path.resolve(__dirname, "../..");
let root: string;
let dataset: string;

before(async () => {
  await initEngine({ quiet: true });
  root = await makeTinyImageFolder(64);
  dataset = await makeTinyDataset();
  const sources = await tinySources(root);
  // Two seeds of one row, and one unfinished run that must be left out.
  for (const seed of [0, 1]) {
    const config = resolveConfig("baseline", "classical", { steps: 2, seed, width: 0.25, size: 48, batch: 2, validateEvery: 2, validationPairs: 1, images: path.join(root, "images") });
    await train(config, path.join(root, "runs", `baseline-seed${seed}`), sources, { quiet: true, prefetch: false });
  }
  const unfinished = resolveConfig("full", "classical", { steps: 4, width: 0.25, size: 48, batch: 2, validateEvery: 4, validationPairs: 1, images: path.join(root, "images") });
  let n = 0;
  await train(unfinished, path.join(root, "runs", "full-unfinished"), sources, { quiet: true, prefetch: false, shouldStop: () => ++n >= 1 });
});
after(() => {
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(dataset, { recursive: true, force: true });
});

const run = (...a: string[]) => spawnSync(process.execPath, ["--import", "tsx", path.join(ROOT, "scripts/eval-runs.ts"), ...a], { encoding: "utf8", cwd: ROOT });

test("eval-runs evaluates each finished run once, keeps the summaries in the run folders, and tables the seeds", () => {
  const out = path.join(root, "tables");
  const args = ["--runs", path.join(root, "runs"), "--datasets", dataset, "--baselines", "orb", "--out", out, "--threshold", "0", "--quiet"];
  const first = run(...args);
  assert.equal(first.status, 0, first.stderr);
  const name = path.basename(dataset);
  for (const seed of [0, 1]) assert.ok(fs.existsSync(path.join(root, "runs", `baseline-seed${seed}`, "eval", `${name}-threshold0.json`)));
  assert.ok(!fs.existsSync(path.join(root, "runs", "full-unfinished", "eval")), "the unfinished run is not evaluated");
  const csv = fs.readFileSync(path.join(out, "ablation-table-threshold0.csv"), "utf8").trim().split("\n");
  // orb (1 seed) and baseline (2 seeds, labelled with its width and steps), each with its overall, illumination and viewpoint rows.
  const rows = csv.slice(1).map((l) => l.split(","));
  assert.deepEqual(rows.map((r) => `${r[0]}|${r[3]}|${r[4]}`), [
    "orb|overall|1", "orb|illumination|1", "orb|viewpoint|1",
    "baseline w0.25 n2 (2 seeds)|overall|2", "baseline w0.25 n2 (2 seeds)|illumination|2", "baseline w0.25 n2 (2 seeds)|viewpoint|2",
  ]);
  // The overall mean over seeds is the mean of the two kept summaries.
  const s = [0, 1].map((seed) => JSON.parse(fs.readFileSync(path.join(root, "runs", `baseline-seed${seed}`, "eval", `${name}-threshold0.json`), "utf8")));
  const header = csv[0].split(",");
  const mean3 = Number(rows[3][header.indexOf("MMA@3_mean")]);
  assert.ok(Math.abs(mean3 - (100 * (s[0].mma[2] + s[1].mma[2])) / 2) < 0.006, `${mean3}`);
  // A second call reads the kept summaries: their files are not rewritten.
  const stamp = fs.statSync(path.join(root, "runs", "baseline-seed0", "eval", `${name}-threshold0.json`)).mtimeMs;
  assert.equal(run(...args).status, 0);
  assert.equal(fs.statSync(path.join(root, "runs", "baseline-seed0", "eval", `${name}-threshold0.json`)).mtimeMs, stamp);
});

test("eval-runs refuses a folder without finished runs", () => {
  fs.mkdirSync(path.join(root, "empty-runs"), { recursive: true });
  const r = run("--runs", path.join(root, "empty-runs"));
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^error: --runs .*empty-runs: no finished run/);
});
