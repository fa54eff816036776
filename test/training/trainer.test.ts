import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { initEngine } from "../../lib/engine/index";
import { checkpointMetadata, loadCheckpoint } from "../../lib/models/checkpoint";
import { learningRate, resolveConfig, TrainConfig } from "../../lib/training/config";
import { PairSources } from "../../lib/training/sources";
import { DivergenceError, readMetrics, RUN_FILES, train, TrainRecord } from "../../lib/training/trainer";
import { makeTinyImageFolder, tinySources } from "./fixtures";

let root: string;
let sources: { train: PairSources; validation: PairSources };

before(async () => {
  await initEngine({ quiet: true });
  root = await makeTinyImageFolder(64);
  sources = await tinySources(root);
});
after(() => fs.rmSync(root, { recursive: true, force: true }));

function tiny(steps: number, extra: Partial<Parameters<typeof resolveConfig>[2]> = {}): TrainConfig {
  return resolveConfig("full", "classical", {
    steps,
    width: 0.25,
    size: 48,
    batch: 2,
    validateEvery: steps,
    validationPairs: 2,
    checkpointEvery: 2,
    images: path.join(root, "images"),
    ...extra,
  });
}

function weights(file: string): Map<string, Float32Array> {
  const net = loadCheckpoint(file);
  const out = new Map([...net.params].map(([k, p]) => [k, p.dataSync() as Float32Array]));
  net.dispose();
  return out;
}

function maxDifference(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  let m = 0;
  for (const [k, x] of a) {
    const y = b.get(k)!;
    for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  }
  return m;
}

test("30 steps of a tiny full config lower the total loss; every term, lr and gradient norm is logged; live tensors stay flat", async () => {
  const config = tiny(30, { lr: 3e-3 });
  const dir = path.join(root, "runs", "thirty");
  const result = await train(config, dir, sources, { quiet: true });
  assert.equal(result.status, "finished");
  const records = readMetrics(dir);
  const steps = records.filter((r): r is TrainRecord => r.type === "train");
  assert.deepEqual(steps.map((r) => r.step), Array.from({ length: 30 }, (_, i) => i + 1));
  const mean = (rs: TrainRecord[]) => rs.reduce((s, r) => s + r.loss, 0) / rs.length;
  const first = mean(steps.slice(0, 5)), last = mean(steps.slice(-5));
  assert.ok(last < 0.8 * first, `total loss ${first.toFixed(3)} over steps 1-5, ${last.toFixed(3)} over steps 26-30`);
  for (const r of steps) {
    assert.deepEqual(Object.keys(r.terms).sort(), ["des", "det", "dis", "edge", "wsc"]);
    // The total is the weighted sum of the terms (all weights 1).
    const sum = Object.values(r.terms).reduce((s, v) => s + v!, 0);
    assert.ok(Math.abs(sum - r.loss) < 1e-4 * Math.max(1, r.loss), `step ${r.step}: terms sum to ${sum}, loss ${r.loss}`);
    assert.equal(r.lr, learningRate(config, r.step - 1));
    assert.ok(r.grad_norm > 0 && Number.isFinite(r.grad_norm));
  }
  // The release's schedule: lr0 over the first 1/30 of the run, lr0 (1 - 29/31) over the last.
  assert.equal(steps[0].lr, 3e-3);
  assert.ok(Math.abs(steps[29].lr - 3e-3 * (2 / 31)) < 1e-12);
  const counts = new Set(steps.slice(2).map((r) => r.tensors));
  assert.equal(counts.size, 1, `live tensors per step: ${[...counts]}`);
  const val = records.filter((r) => r.type === "val");
  assert.equal(val.length, 1);
  for (const f of [RUN_FILES.config, RUN_FILES.last, RUN_FILES.best, RUN_FILES.final]) assert.ok(fs.existsSync(path.join(dir, f)), f);
  // The final checkpoint records which paths are on and is a plain SamFeatNet checkpoint.
  assert.equal(checkpointMetadata(path.join(dir, RUN_FILES.final)).eag, "true");
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, RUN_FILES.config), "utf8")), JSON.parse(JSON.stringify(config)));
});

test("stopping after 3 steps and resuming ends with the weights of an uninterrupted run", async () => {
  const config = tiny(6, { validateEvery: 3 });
  const whole = path.join(root, "runs", "whole");
  await train(config, whole, sources, { quiet: true });

  const parts = path.join(root, "runs", "parts");
  let steps = 0;
  const first = await train(config, parts, sources, { quiet: true, shouldStop: () => ++steps >= 3 });
  assert.equal(first.status, "interrupted");
  assert.equal(checkpointMetadata(path.join(parts, RUN_FILES.last)).step, "3");
  assert.ok(!fs.existsSync(path.join(parts, RUN_FILES.final)));
  await assert.rejects(train(config, parts, sources, { quiet: true }), /a run already exists there.*--resume/);
  const second = await train(config, parts, sources, { quiet: true, resume: true });
  assert.equal(second.status, "finished");
  const d = maxDifference(weights(path.join(whole, RUN_FILES.final)), weights(path.join(parts, RUN_FILES.final)));
  assert.ok(d <= 1e-5, `resumed weights differ by ${d}`);
  // The metrics hold each step once, as the uninterrupted run's.
  const losses = (dir: string) => readMetrics(dir).filter((r): r is TrainRecord => r.type === "train").map((r) => [r.step, r.loss]);
  assert.deepEqual(losses(parts).map((r) => r[0]), [1, 2, 3, 4, 5, 6]);
  for (const [i, [, l]] of losses(parts).entries()) assert.ok(Math.abs(l - losses(whole)[i][1]) < 1e-4);
  // Another config cannot resume this run.
  await assert.rejects(train(tiny(7), parts, sources, { quiet: true, resume: true }), /another config/);
});

test("timing npm run bench's bare step beside every step (--profile) leaves the run's weights and losses as they are", async () => {
  const config = tiny(4);
  const plain = path.join(root, "runs", "plain");
  const timed = path.join(root, "runs", "timed");
  const a = await train(config, plain, sources, { quiet: true });
  const b = await train(config, timed, sources, { quiet: true, timeBareStep: true });
  assert.equal(a.profile.bare, undefined);
  assert.ok(b.profile.bare && b.profile.bare.bare_ms > 0 && b.profile.bare.whole_ms > 0, JSON.stringify(b.profile));
  assert.equal(maxDifference(weights(path.join(plain, RUN_FILES.final)), weights(path.join(timed, RUN_FILES.final))), 0);
  const losses = (dir: string) => readMetrics(dir).filter((r): r is TrainRecord => r.type === "train").map((r) => r.loss);
  assert.deepEqual(losses(timed), losses(plain));
});

test("a NaN in a loss term stops the run naming the term, before the update, and keeps the last good checkpoint", async () => {
  const config = tiny(8);
  const dir = path.join(root, "runs", "nan");
  const err = await train(config, dir, sources, { quiet: true, corruptTerm: { step: 4, term: "des" } }).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof DivergenceError, String(err));
  assert.match((err as Error).message, /^step 5: loss term 'des' is NaN; training stopped before the update, the last good checkpoint, .*last\.safetensors \(step 4\), is kept$/);
  const last = path.join(dir, RUN_FILES.last);
  assert.equal(checkpointMetadata(last).step, "4");
  assert.ok(!fs.existsSync(path.join(dir, RUN_FILES.final)));
  // The kept checkpoint is usable: every weight finite.
  for (const [, w] of weights(last)) assert.ok(w.every(Number.isFinite));
});

test("batches prefetched on a worker thread are the arrays the loop would build inline", async () => {
  const { createBatchSource } = await import("../../lib/training/prefetch");
  const opts = { batch: 2, seed: 9, pairOptions: { size: 48 } };
  const worker = await createBatchSource(sources.train, opts);
  const inline = await createBatchSource(sources.train, { ...opts, prefetch: false });
  assert.equal(worker.mode, "worker", worker.reason);
  assert.equal(inline.mode, "inline");
  try {
    for (const step of [0, 1, 2, 5]) {
      const [a, b] = [await worker.next(step), await inline.next(step)];
      assert.deepEqual(a, b, `step ${step}`);
    }
  } finally {
    await worker.close();
    await inline.close();
  }
});
