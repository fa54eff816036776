// Finding runs: hand-made run folders (config.json, metrics.jsonl, final.safetensors) under two
// roots, looked up by filter, by resolved config and grouped by seed.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { defaultRunName, resolveConfig, TrainConfig } from "../../lib/training/config";
import { findRun, findRuns, listRuns, seedGroups } from "../../lib/training/runs";
import { ladderGroups } from "../../lib/training/ladder";

let tmp: string;
let outputs: string;
let shipped: string;

/** Keys in reverse order at every level: equality must not depend on key order. */
function reversedKeys(value: unknown): unknown {
  if (!value || typeof value !== "object" || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reversedKeys(v)]));
}

function makeRun(root: string, config: TrainConfig, opts: { steps: number; finished: boolean; name?: string }): string {
  const dir = path.join(root, opts.name ?? defaultRunName(config));
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(reversedKeys(config), null, 2));
  const lines: string[] = [];
  for (let step = 1; step <= opts.steps; step++) {
    lines.push(JSON.stringify({ type: "train", step, lr: 1e-3, loss: 10 / step, terms: { det: 5 / step, des: 5 / step }, grad_norm: 1 }));
    if (step % 2 === 0) lines.push(JSON.stringify({ type: "val", step, loss: 1, terms: {}, mma: new Array(10).fill(step / 10), features: 100, ms: 5 }));
  }
  fs.writeFileSync(path.join(dir, "metrics.jsonl"), lines.join("\n") + "\n" + '{"type":"train","st'); // a line cut by a kill
  if (opts.finished) fs.writeFileSync(path.join(dir, "final.safetensors"), "");
  return dir;
}

const cfg = (row: "baseline" | "full", teacher: "sam" | "human", seed: number, steps = 4) => resolveConfig(row, teacher, { seed, steps });

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "samfeat-runs-"));
  outputs = path.join(tmp, "outputs-runs");
  shipped = path.join(tmp, "data-runs");
  makeRun(outputs, cfg("full", "sam", 0), { steps: 4, finished: true });
  makeRun(outputs, cfg("full", "sam", 1), { steps: 3, finished: false });
  makeRun(outputs, cfg("baseline", "sam", 0), { steps: 4, finished: true });
  makeRun(outputs, cfg("full", "human", 0), { steps: 4, finished: true });
  // The same run as outputs' unfinished seed 1, shipped finished under another folder name.
  makeRun(shipped, cfg("full", "sam", 1), { steps: 4, finished: true, name: "copied" });
  makeRun(shipped, cfg("full", "sam", 2), { steps: 4, finished: true });
  // Shipped without its weights: every step logged, no final.safetensors.
  makeRun(shipped, cfg("baseline", "sam", 1), { steps: 4, finished: false });
  fs.mkdirSync(path.join(outputs, "not-a-run")); // no config.json: ignored
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test("listRuns reads every run once (a finished copy wins), with its records and finished flag", () => {
  const runs = listRuns({ roots: [outputs, shipped, path.join(tmp, "missing")] });
  assert.equal(runs.length, 6);
  const seed1 = runs.find((r) => r.config.row === "full" && r.config.teacher === "sam" && r.config.seed === 1)!;
  assert.equal(seed1.name, "copied");
  assert.equal(seed1.finished, true);
  assert.deepEqual(seed1.train.map((r) => r.step), [1, 2, 3, 4]);
  assert.deepEqual(seed1.val.map((r) => r.step), [2, 4]);
  assert.equal(seed1.lastStep, 4);
  assert.equal(seed1.train[3].loss, 10 / 4);
  assert.equal(seed1.weights, path.join(shipped, "copied", "final.safetensors"));
  // All 4 of 4 steps logged but no weights: finished, without weights. 3 of 4 steps: unfinished.
  const noWeights = runs.find((r) => r.config.row === "baseline" && r.config.seed === 1)!;
  assert.equal(noWeights.finished, true);
  assert.equal(noWeights.weights, undefined);
  const cut = listRuns({ roots: [outputs] }).find((r) => r.config.row === "full" && r.config.teacher === "sam" && r.config.seed === 1)!;
  assert.equal(cut.finished, false);
});

test("ladderGroups: one seed group per row found by resolved config, or every missing run's command", () => {
  const roots = [outputs, shipped];
  const [base, full] = ladderGroups(["baseline", "full"], "sam", { roots, seeds: [0, 1], overrides: { steps: 4 } });
  assert.deepEqual([base.config.row, base.seeds], ["baseline", [0, 1]]);
  assert.deepEqual([full.config.row, full.seeds], ["full", [0, 1]]);
  // Seed 1 of full/sam exists only unfinished in outputs: the finished shipped copy is used.
  assert.equal(full.runs[1].name, "copied");
  assert.throws(
    () => ladderGroups(["baseline", "full"], "human", { roots, seeds: [0, 1], overrides: { steps: 4 } }),
    (e: Error) =>
      /3 run\(s\) of the ladder are missing/.test(e.message) &&
      e.message.includes("npm run train -- --config baseline --teacher human --seed 0 --steps 4\n") &&
      e.message.includes("npm run train -- --config full --teacher human --seed 1 --steps 4") &&
      !e.message.includes("--config full --teacher human --seed 0"),
  );
  // With minSeeds 1 the rows are shown with the seeds that exist, and the missing ones are named.
  const logged: string[] = [];
  const log = console.log;
  console.log = (line: string) => logged.push(line);
  try {
    const partial = ladderGroups(["baseline", "full"], "human", { roots, seeds: [0, 1], overrides: { steps: 4 }, minSeeds: 1 });
    assert.fail(`expected a throw: baseline/human has no run at all, got ${partial.length} groups`);
  } catch (e) {
    assert.match((e as Error).message, /3 run\(s\) of the ladder are missing/);
  } finally {
    console.log = log;
  }
  console.log = (line: string) => logged.push(line);
  try {
    const [fullHuman] = ladderGroups(["full"], "human", { roots, seeds: [0, 1], overrides: { steps: 4 }, minSeeds: 1 });
    assert.deepEqual(fullHuman.seeds, [0]);
  } finally {
    console.log = log;
  }
  assert.equal(logged.length, 1);
  assert.match(logged[0], /^shown without 1 unfinished run\(s\); train them with:\n  npm run train -- --config full --teacher human --seed 1 --steps 4$/);
  // Only outputs: seed 1 of full/sam is there but unfinished, so its command resumes it.
  assert.throws(() => ladderGroups(["full"], "sam", { roots: [outputs], seeds: [0, 1], overrides: { steps: 4 } }), /--seed 1 --steps 4 --resume/);
});

test("findRuns filters on config fields, arrays meaning any of", () => {
  const roots = [outputs, shipped];
  const fullSam = findRuns({ row: "full", teacher: "sam" }, { roots });
  assert.deepEqual(fullSam.map((r) => r.config.seed).sort(), [0, 1, 2]);
  assert.equal(findRuns({ teacher: ["human", "sam"], row: "baseline" }, { roots }).length, 2);
  assert.equal(findRuns({ seed: [1, 2] }, { roots }).length, 3);
  assert.equal(findRuns({ steps: 5 }, { roots }).length, 0);
  // Only the outputs root: seed 1 is there but unfinished.
  assert.deepEqual(findRuns({ finished: false }, { roots: [outputs] }).map((r) => r.config.seed), [1]);
});

test("findRun matches the fully resolved config, whatever the key order on disk", () => {
  const roots = [outputs, shipped];
  const found = findRun(cfg("baseline", "sam", 0), { roots });
  assert.ok(found);
  assert.equal(found.config.row, "baseline");
  // One field apart is another run.
  const other = cfg("baseline", "sam", 0);
  other.optimizer.lr = 2e-3;
  assert.equal(findRun(other, { roots }), undefined);
  assert.equal(findRun(cfg("full", "sam", 7), { roots }), undefined);
});

test("seedGroups puts runs differing only by seed together, in seed order", () => {
  const groups = seedGroups(listRuns({ roots: [outputs, shipped] }));
  assert.deepEqual(
    groups.map((g) => [g.config.row, g.config.teacher, g.seeds]),
    [
      ["baseline", "sam", [0, 1]],
      ["full", "human", [0]],
      ["full", "sam", [0, 1, 2]],
    ],
  );
  const fullSam = groups[2];
  assert.equal(fullSam.label, "full / sam (w0.5 s192 b4 n4)");
  assert.ok(!fullSam.label.includes("seed"));
  assert.notEqual(groups[0].key, groups[2].key);
  // Steps differ: another group, even with the same row, teacher and seed.
  const mixed = seedGroups([...fullSam.runs, ...findRuns({ row: "full", teacher: "human" }, { roots: [outputs] })]);
  assert.equal(mixed.length, 2);
});
