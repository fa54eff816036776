// Every training loss, value and gradients, on the training engine (wasm + the project's kernels) against
// tfjs's cpu backend on the same random batch. The loss tests check the formulas on cpu; this checks
// that the engine computes the same thing. It exists because the engine once did not: upstream wasm's
// float32 OneHot wrote int32 bits, and the descriptor loss's hardest-negative gradient came out zero.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initEngine } from "../../lib/engine";
import { descriptorLoss, detectionLoss, edgeLoss, psrdLoss, wscLoss } from "../../lib/losses";
import { hardnetLoss } from "../../lib/losses/hardnet";
import { sosnetLoss } from "../../lib/losses/sosnet";
import { hynetLoss } from "../../lib/losses/hynet";
import { teacherStudentRegularizer } from "../../lib/losses/teacher-student";
import type { PairOutputs, PairTargets } from "../../lib/losses/types";
import { randomValues, runOn, scaledError } from "../engine/helpers";
import { makeOutputs, makeTargets, randomPositive } from "./samfeat-helpers";

const TOL = 1e-4; // max abs error relative to the cpu scale (see compare)

before(async () => {
  await initEngine({ backend: "wasm", quiet: true });
});
after(async () => {
  await tf.setBackend("wasm");
});

const [B, H, W, n, D] = [2, 32, 32, 24, 8];

/** The outputs' maps as plain tensors, so gradients can be taken w.r.t. each one. */
function outputMaps(): tf.Tensor4D[] {
  const t = (shape: [number, number, number, number], values: Float32Array) => tf.tensor4d(values, shape);
  const m = (shape: [number, number, number, number]) => shape.reduce((a, b) => a * b, 1);
  return [
    t([2 * B, H, W, 1], randomValues(m([2 * B, H, W, 1]), 1)), // heatmap
    t([2 * B, H / 4, W / 4, D], randomValues(m([2 * B, H / 4, W / 4, D]), 2)), // descriptors
    t([2 * B, H / 4, W / 4, 1], randomPositive(m([2 * B, H / 4, W / 4, 1]), 3)), // attention
    t([2 * B, H / 8, W / 8, 6], randomValues(m([2 * B, H / 8, W / 8, 6]), 4)), // distill
    t([2 * B, H / 4, W / 4, 1], randomPositive(m([2 * B, H / 4, W / 4, 1]), 5, 0.05, 0.95)), // edges
  ];
}

function targets(): PairTargets {
  const points = Array.from(randomValues(2 * B * n * 2, 6), (v) => ((v + 1) / 2) * (H - 1));
  // Not-search: the true match and points within 6 px of it in the first view.
  const notSearch: number[] = [];
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const [xi, yi, xj, yj] = [points[2 * (b * n + i)], points[2 * (b * n + i) + 1], points[2 * (b * n + j)], points[2 * (b * n + j) + 1]];
        notSearch.push(i === j || Math.hypot(xi - xj, yi - yj) < 6 ? 1 : 0);
      }
    }
  }
  return makeTargets({
    B, H, W, n, points, notSearch,
    valid: Array.from(randomValues(B * n, 7), (v) => (v > -0.8 ? 1 : 0)),
    categories: Array.from(randomValues(2 * B * n, 8), (v) => Math.floor(((v + 1) / 2) * 4) - 1),
    keypoints: tf.tensor4d(randomValues(2 * B * H * W, 9).map((v) => (v > 0.9 ? 1 : 0)), [2 * B, H, W, 1]),
    teacherEmbedding: tf.tensor4d(randomValues(2 * B * (H / 8) * (W / 8) * 6, 10), [2 * B, H / 8, W / 8, 6]),
    teacherEdges: tf.tensor4d(randomPositive(2 * B * H * W, 11, 0, 1), [2 * B, H, W, 1]),
    teacherFlag: [1, 1, 0, 1],
  });
}

type SamfeatLoss = (o: PairOutputs, t: PairTargets) => tf.Scalar;
const SAMFEAT_LOSSES: Record<string, SamfeatLoss> = {
  det: (o, t) => detectionLoss(o, t),
  des: (o, t) => descriptorLoss(o, t),
  dis: (o, t) => psrdLoss(o, t),
  "wsc (release)": (o, t) => wscLoss(o, t, { variant: "release" }),
  "wsc (supcon)": (o, t) => wscLoss(o, t, { variant: "supcon" }),
  edge: (o, t) => edgeLoss(o, t),
};

/** The loss and its gradient w.r.t. every output map (0·Σx keeps each map on the tape). */
function lossAndGrads(loss: SamfeatLoss): tf.Tensor[] {
  const maps = outputMaps();
  const t = targets();
  const f = (...xs: tf.Tensor[]) => {
    const [heatmap, descriptors, attention, distill, edges] = xs as tf.Tensor4D[];
    const o = makeOutputs(B, H, W, { heatmap, descriptors, attention, distill, edges });
    return tf.addN([loss(o, t), ...xs.map((x) => tf.mul(tf.sum(x), 0))]) as tf.Scalar;
  };
  const { value, grads } = tf.valueAndGrads(f)(maps);
  return [value, ...grads];
}

const NAMES = ["value", "d/heatmap", "d/descriptors", "d/attention", "d/distill", "d/edges"];

/**
 * Max |engine - cpu| over each output, relative to the largest |cpu gradient| of the loss (the value
 * against its own scale): a map the loss only reaches through rounding (PSRD's attention, which cancels
 * analytically) is held to the scale of the gradients that matter rather than to its own noise.
 */
function compare(what: string, cpu: { values: Float32Array }[], engine: { values: Float32Array }[]): void {
  const maxAbs = (v: Float32Array) => v.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  const gradScale = Math.max(...cpu.slice(1).map((r) => maxAbs(r.values)));
  assert.ok(gradScale > 0, `${what}: every cpu gradient is zero, the comparison would be empty`);
  cpu.forEach((ref, i) => {
    const scale = i === 0 ? maxAbs(ref.values) : gradScale;
    let err = 0;
    for (let k = 0; k < ref.values.length; k++) err = Math.max(err, Math.abs(engine[i].values[k] - ref.values[k]));
    assert.ok(err <= TOL * scale, `${what} ${NAMES[i]}: engine differs from cpu by ${(err / scale).toExponential(2)} of the scale`);
  });
}

test("each SAMFeat loss and its gradients agree between the engine and cpu", async () => {
  for (const [name, loss] of Object.entries(SAMFEAT_LOSSES)) {
    const cpu = await runOn("cpu", () => lossAndGrads(loss));
    const engine = await runOn("wasm", () => lossAndGrads(loss));
    compare(name, cpu, engine);
  }
  // The case exercises what broke: the descriptor gradient must be there, and reach the negatives.
  const des = await runOn("wasm", () => lossAndGrads(SAMFEAT_LOSSES.des));
  assert.ok(des[2].values.some((v) => v !== 0), "descriptor loss gives no gradient to the descriptors");
});

test("each patch loss and the teacher-student regulariser agree between the engine and cpu", async () => {
  const N = 40;
  const unitRows = (seed: number) => tf.tidy(() => {
    const x = tf.tensor2d(randomValues(N * 16, seed), [N, 16]);
    return tf.div(x, tf.norm(x, 2, 1, true)) as tf.Tensor2D;
  });
  const cases: Record<string, (a: tf.Tensor2D, p: tf.Tensor2D) => tf.Scalar> = {
    hardnet: (a, p) => hardnetLoss(a, p),
    sosnet: (a, p) => sosnetLoss(a, p),
    hynet: (a, p) => hynetLoss(tf.div(a, tf.norm(a, 2, 1, true)) as tf.Tensor2D, tf.div(p, tf.norm(p, 2, 1, true)) as tf.Tensor2D, a, p),
    "teacher-student (abs)": (a, p) => teacherStudentRegularizer(a, p, unitRows(21), unitRows(22), { form: "abs" }),
  };
  for (const [name, loss] of Object.entries(cases)) {
    const run = () => {
      const { value, grads } = tf.valueAndGrads((a: tf.Tensor, p: tf.Tensor) => loss(a as tf.Tensor2D, p as tf.Tensor2D))([unitRows(12), unitRows(13)]);
      return [value, ...grads];
    };
    const cpu = await runOn("cpu", run);
    const engine = await runOn("wasm", run);
    cpu.forEach((ref, i) => {
      const e = scaledError(engine[i].values, ref.values);
      assert.ok(e < TOL, `${name} output ${i}: engine differs from cpu by ${e.toExponential(2)} of its scale`);
    });
  }
});

test("OneHot on the engine honours its dtype (upstream wasm wrote int32 bits into float32)", async () => {
  const run = () => [tf.oneHot(tf.tensor1d([2, 0, 3, -1], "int32"), 4, 1, 0, "float32"), tf.oneHot(tf.tensor1d([1, 1], "int32"), 3, 5, -2)];
  const engine = await runOn("wasm", run);
  assert.deepEqual(Array.from(engine[0].values), [0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
  assert.deepEqual(Array.from(engine[1].values), [-2, 5, -2, -2, 5, -2]);
});
