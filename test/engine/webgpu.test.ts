// The webgpu engine (Dawn): selection and its line, synchronous reads, the project's kernel fix, the
// SAMFeat network against the PyTorch fixture, the evaluation extractor, and training. Without a GPU
// these run on a software adapter (Mesa's llvmpipe through Dawn's OpenGL ES backend): correctness
// only. Where Dawn finds no adapter they skip with the reason, and fail under CI=true.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { describeEngine, initEngine } from "../../lib/engine";
import { WEBGPU_KERNEL_FIXES } from "../../lib/engine/wasm-kernels";
import { adapterLabel, findWebgpuAdapter, WebgpuSearch, webgpuUsable } from "../../lib/engine/webgpu";
import { extractSamFeat } from "../../lib/eval/samfeat-extractor";
import { Rng } from "../../lib/geometry/random";
import { SamFeatNet } from "../../lib/models/samfeat";
import { resolveConfig } from "../../lib/training/config";
import { PairSources } from "../../lib/training/sources";
import { readMetrics, train, TrainRecord } from "../../lib/training/trainer";
import { checkParity } from "../models/fixture";
import { skipWhenAbsent } from "../support/absent";
import { makeTinyImageFolder, tinySources } from "../training/fixtures";
import { randomValues, runOn } from "./helpers";

let search: WebgpuSearch;
let absent: string | false;

before(async () => {
  search = await findWebgpuAdapter();
  absent = search.found ? false : `no WebGPU adapter: ${search.why}`;
});
after(async () => {
  await tf.setBackend("cpu");
});

/** Selects webgpu (initEngine returns its cached choice without switching back after a setBackend). */
async function useWebgpu(): Promise<void> {
  await initEngine({ backend: "webgpu", quiet: true });
  await tf.setBackend("webgpu");
}

test("forcing webgpu selects it; the line names the adapter; unforced, a software adapter is refused", async (t) => {
  if (skipWhenAbsent(t, absent)) return;
  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => void lines.push(args.join(" "));
  let info;
  try {
    info = await initEngine({ backend: "webgpu" });
  } finally {
    console.log = log;
  }
  t.diagnostic(lines[0]);
  assert.equal(info.backend, "webgpu");
  assert.equal(tf.getBackend(), "webgpu");
  assert.equal(info.adapter, adapterLabel(search.adapter!));
  assert.deepEqual(lines, [`engine: webgpu (forced by option backend; adapter: ${info.adapter})`]);
  assert.equal(describeEngine(info), lines[0]);
  const unforced = webgpuUsable(search, false);
  if (search.adapter!.software) {
    assert.equal(unforced.ok, false);
    assert.match(unforced.why, /^webgpu has only a software adapter \(.*software renderer\)\), slower than wasm; SAMFEAT_BACKEND=webgpu forces it$/);
  } else {
    assert.equal(unforced.ok, true);
  }
});

test("dataSync, arraySync and data() read float32, int32 and bool results computed on the GPU", async (t) => {
  if (skipWhenAbsent(t, absent)) return;
  await useWebgpu();
  // 4096 elements: above the size below which the backend computes on the cpu instead.
  const v = randomValues(4096, 1).map((x) => x * 100);
  const x = tf.tensor1d(v);
  const y = tf.add(tf.mul(x, 3), 1);
  const ints = tf.cast(tf.floor(y), "int32");
  const positive = tf.greater(y, 0);
  const got = y.dataSync();
  for (let i = 0; i < v.length; i++) assert.equal(got[i], Math.fround(Math.fround(v[i] * 3) + 1), `element ${i}`);
  assert.deepEqual(Array.from(ints.dataSync()), Array.from(got, (g) => Math.floor(g)));
  assert.equal(ints.dtype, "int32");
  assert.deepEqual(Array.from(positive.dataSync()), Array.from(got, (g) => (g > 0 ? 1 : 0)));
  const z = tf.reshape(tf.sub(y, 1), [64, 64]);
  assert.equal((z.arraySync() as number[][])[5][7], Math.fround(got[5 * 64 + 7] - 1));
  // The asynchronous path still works next to the synchronous one.
  const w = tf.neg(y);
  assert.deepEqual(Array.from(await w.data()), Array.from(got, (g) => -g));
  tf.dispose([x, y, ints, positive, z, w]);
});

test("ResizeBilinearGrad honours halfPixelCenters on webgpu (upstream's ignores it)", async (t) => {
  if (skipWhenAbsent(t, absent)) return;
  await useWebgpu();
  for (const k of WEBGPU_KERNEL_FIXES) assert.equal(tf.getKernel(k.kernelName, "webgpu")?.kernelFunc, k.kernelFunc, `${k.kernelName} is the project's`);
  // 2 -> 4 per axis with half-pixel centres: output o samples (o + 0.5)/2 - 0.5, clamped, so each
  // input pixel receives weights summing to 2 per axis, 4 in all, from dy = 1. Upstream's gradient
  // (corner-aligned sampling o/2) gives 1.5 and 2.5 per axis instead.
  const x = tf.tensor4d(randomValues(2 * 2 * 2 * 3, 2), [2, 2, 2, 3]);
  const g = tf.grad((im: tf.Tensor) => tf.sum(tf.image.resizeBilinear(im as tf.Tensor4D, [4, 4], false, true)))(x);
  assert.deepEqual(Array.from(g.dataSync()), new Array(24).fill(4));
  tf.dispose([x, g]);
});

test("AddN on webgpu sums more tensors than a shader may bind (upstream's failed GPU validation)", async (t) => {
  if (skipWhenAbsent(t, absent)) return;
  await useWebgpu();
  // 45 tensors of 2048 values (on the GPU: above the cpu hand-off size); tensor k holds k + 1 + x.
  const x = randomValues(2048, 3);
  const ts = Array.from({ length: 45 }, (_, k) => tf.add(tf.tensor1d(x), k + 1));
  const sum = tf.addN(ts);
  const got = sum.dataSync();
  for (let i = 0; i < x.length; i++) assert.ok(Math.abs(got[i] - (45 * x[i] + (45 * 46) / 2)) < 1e-3, `element ${i}: ${got[i]}`);
  tf.dispose([sum, ...ts]);
});

test("OneHot on webgpu honours its dtype", async (t) => {
  if (skipWhenAbsent(t, absent)) return;
  const run = () => [tf.oneHot(tf.tensor1d([2, 0, 3, -1], "int32"), 4, 1, 0, "float32"), tf.oneHot(tf.tensor1d([1, 1], "int32"), 3, 5, -2)];
  await useWebgpu();
  const got = await runOn("webgpu", run);
  assert.deepEqual(Array.from(got[0].values), [0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
  assert.deepEqual(Array.from(got[1].values), [-2, 5, -2, -2, 5, -2]);
});

test("matches the PyTorch reference on webgpu: all five outputs and every gradient", async (t) => {
  if (skipWhenAbsent(t, absent)) return;
  await useWebgpu();
  const worst = checkParity(() => true);
  t.diagnostic(`webgpu vs PyTorch: outputs ${worst.outputs.toExponential(2)}, gradients ${worst.grads.toExponential(2)} of their scale; loss ${worst.loss.toExponential(2)}`);
});

test("the evaluation extractor finds the same keypoints and descriptors on webgpu as on cpu", async (t) => {
  if (skipWhenAbsent(t, absent)) return;
  const rng = new Rng(5);
  const img = { width: 70, height: 50, data: Uint8Array.from({ length: 70 * 50 * 3 }, () => Math.floor(rng.next() * 256)) };
  await tf.setBackend("cpu");
  const net = new SamFeatNet({ width: 0.125, descDim: 16, seed: 1 });
  const opts = { threshold: 0, topK: 40 };
  const ref = extractSamFeat(net, img, opts);
  await useWebgpu();
  assert.equal(tf.getBackend(), "webgpu");
  const got = extractSamFeat(net, img, opts);
  net.dispose();
  assert.equal(got.scores.length, 40);
  assert.deepEqual(Array.from(got.keypoints), Array.from(ref.keypoints));
  for (let i = 0; i < ref.scores.length; i++) assert.ok(Math.abs(got.scores[i] - ref.scores[i]) < 1e-5, `score ${i}`);
  for (let i = 0; i < ref.descriptors.length; i++) assert.ok(Math.abs(got.descriptors[i] - ref.descriptors[i]) < 1e-4, `descriptor value ${i}`);
});

test("training a tiny full config on webgpu lowers the loss", async (t) => {
  if (skipWhenAbsent(t, absent)) return;
  // Data and labels are prepared on cpu; only the training runs on webgpu.
  await tf.setBackend("cpu");
  const root = await makeTinyImageFolder(64);
  try {
    const sources: { train: PairSources; validation: PairSources } = await tinySources(root);
    await useWebgpu();
    const steps = 12;
    const config = resolveConfig("full", "classical", {
      steps, width: 0.25, size: 48, batch: 2, lr: 3e-3, validateEvery: steps, validationPairs: 2, checkpointEvery: steps, images: path.join(root, "images"),
    });
    const dir = path.join(root, "runs", "webgpu");
    const result = await train(config, dir, sources, { quiet: true });
    assert.equal(result.status, "finished");
    assert.equal(tf.getBackend(), "webgpu");
    const losses = readMetrics(dir).filter((r): r is TrainRecord => r.type === "train").map((r) => r.loss);
    assert.equal(losses.length, steps);
    assert.ok(losses.every(Number.isFinite), `losses ${losses}`);
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const first = mean(losses.slice(0, 3)), last = mean(losses.slice(-3));
    t.diagnostic(`total loss ${first.toFixed(3)} over steps 1-3, ${last.toFixed(3)} over steps ${steps - 2}-${steps}`);
    assert.ok(last < 0.9 * first, `total loss ${first.toFixed(3)} over steps 1-3, ${last.toFixed(3)} over the last 3`);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
