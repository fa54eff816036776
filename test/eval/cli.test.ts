import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { makeTinyDataset } from "./fixtures";

const ROOT = path.resolve(__dirname, "../..");
const run = (...args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", path.join(ROOT, "scripts/eval.ts"), ...args], { encoding: "utf8", cwd: ROOT });

test("bad input: one error line naming the problem, exit code 2", () => {
  const missing = run("--dataset", path.join(os.tmpdir(), "no-such-dataset"), "--method", "orb");
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /^error: .*no-such-dataset: dataset folder not found\n$/);
  const method = run("--dataset", path.join(ROOT, "data/hpatches-sample"), "--method", "sift");
  assert.equal(method.status, 2);
  assert.match(method.stderr, /^error: --method sift: not a baseline \(orb, akaze, kaze\) or a checkpoint file\n$/);
  const flag = run("--dataset", "x");
  assert.equal(flag.status, 2);
  assert.match(flag.stderr, /^error: --method is required/);
});

test("writes the JSON summary with the protocol's keys", async () => {
  const root = await makeTinyDataset();
  const json = path.join(root, "out.json");
  const out = path.join(root, "results");
  const r = run("--dataset", root, "--method", "orb", "--max-keypoints", "300", "--json", json, "--out", out, "--quiet");
  assert.equal(r.status, 0, r.stderr);
  // Tables land in --out, never in the project's outputs/.
  const written = fs.readdirSync(out);
  for (const suffix of ["-mma.csv", "-summary.csv", "-homography.csv"]) {
    assert.ok(written.some((f) => f.endsWith(suffix)), `no *${suffix} in ${written}`);
  }
  const s = JSON.parse(fs.readFileSync(json, "utf8"));
  for (const key of ["method", "pairs", "pairs_i", "pairs_v", "mma", "mma_i", "mma_v", "features", "matches", "homography"]) {
    assert.ok(key in s, `missing ${key}`);
  }
  assert.deepEqual([s.method, s.pairs, s.pairs_i, s.pairs_v], ["orb", 2, 1, 1]);
  assert.equal(s.mma.length, 10);
  assert.ok(s.features <= 300);
  assert.match(r.stdout, /MMA \(%\) of orb/);
  fs.rmSync(root, { recursive: true, force: true });
});
