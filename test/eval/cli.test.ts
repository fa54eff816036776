import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { makeTinyDataset } from "./fixtures";

import { projectPath } from "../../lib/util/project";

const run = (...args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", projectPath("scripts", "eval.ts"), ...args], { encoding: "utf8", cwd: projectPath() });

test("bad input: one error line naming the problem, exit code 2", () => {
  const missing = run("--dataset", path.join(os.tmpdir(), "no-such-dataset"), "--method", "orb");
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /^error: .*no-such-dataset: dataset folder not found\n$/);
  const method = run("--dataset", projectPath("data", "hpatches-sample"), "--method", "sift");
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

test("an unreadable image stops the run naming the file, with the pairs before it saved; --skip-unreadable skips its pair", async () => {
  const root = await makeTinyDataset();
  const results = fs.mkdtempSync(path.join(os.tmpdir(), "samfeat-eval-"));
  try {
    // Sequences run in name order: i_same's pair is scored before v_shift/2.png is read.
    const broken = path.join(root, "v_shift", "2.png");
    fs.writeFileSync(broken, "not a png");
    const out = path.join(results, "tables");
    const json = path.join(results, "s.json");
    const stopped = run("--dataset", root, "--method", "orb", "--out", out, "--json", json, "--quiet");
    assert.equal(stopped.status, 2, stopped.stderr);
    const lines = stopped.stderr.trim().split("\n");
    assert.equal(lines.length, 1, stopped.stderr);
    assert.match(lines[0], /^error: .*v_shift\/2\.png: cannot read image .*\(1 of 2 pairs scored before it\); partial results in .*eval-partial-orb-/);
    assert.match(lines[0], /--skip-unreadable/);
    const partial = JSON.parse(fs.readFileSync(path.join(results, "s-partial.json"), "utf8"));
    assert.deepEqual([partial.pairs, partial.pairs_i, partial.pairs_v], [1, 1, 0]);
    assert.deepEqual(partial.unreadable, [broken]);
    assert.ok(fs.readdirSync(out).some((f) => /^eval-partial-orb-.*-summary\.csv$/.test(f)));
    assert.equal(fs.existsSync(json), false, "no complete summary for an incomplete run");

    const skipped = run("--dataset", root, "--method", "orb", "--out", out, "--json", json, "--skip-unreadable", "--quiet");
    assert.equal(skipped.status, 0, skipped.stderr);
    assert.match(skipped.stderr, /^warning: .*v_shift\/2\.png: cannot read image .*: skipping pair 1-2 of v_shift\n$/);
    const full = JSON.parse(fs.readFileSync(json, "utf8"));
    assert.deepEqual([full.pairs, full.pairs_i, full.pairs_v], [1, 1, 0]);
    assert.deepEqual(full.mma_i, new Array(10).fill(1)); // identical images: every match exact
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(results, { recursive: true, force: true });
  }
});
