// One forward + backward + Adam step of small nets built from every op the SAMFeat network and the
// DesDis student train with, on wasm against cpu: no kernel missing, every gradient right, no leak.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initEngine } from "../../lib/engine";
import { randomValues, scaledError } from "./helpers";

before(async () => {
  process.env.SAMFEAT_NATIVE = "0";
  await initEngine({ backend: "wasm", quiet: true });
});

const PARAMS: Record<string, number[]> = {
  w1: [3, 3, 3, 8], b1: [8], w2: [3, 3, 8, 8], b2: [8], w3: [1, 1, 24, 6], b3: [6],
  q: [1, 1, 6, 6], k: [1, 1, 6, 6], v: [1, 1, 6, 6], att: [3, 3, 1, 1], w4: [3, 3, 6, 4],
  s1: [3, 3, 3, 6], s2: [3, 3, 6, 6], gamma: [6], beta: [6],
};

type P = Record<string, tf.Tensor>;

/** SAMFeat-like: trunk, pooling, half-pixel resizes, concat, edge gating, per-channel row attention. */
function samfeatLike(p: P, x: tf.Tensor4D): tf.Scalar {
  const c1 = tf.fused.conv2d({ x, filter: p.w1 as tf.Tensor4D, strides: 1, pad: "same", bias: p.b1, activation: "relu" });
  const c2 = tf.relu(tf.add(tf.conv2d(tf.maxPool(c1, 2, 2, "same"), p.w2 as tf.Tensor4D, 1, "same"), p.b2)) as tf.Tensor4D;
  const [, h, w] = c2.shape;
  const feat = tf.concat([tf.image.resizeBilinear(c1, [h, w], false, true), c2, tf.image.resizeBilinear(tf.maxPool(c2, 2, 2, "same"), [h, w], false, true)], 3);
  const f = tf.add(tf.conv2d(feat, p.w3 as tf.Tensor4D, 1, "valid"), p.b3) as tf.Tensor4D;
  const edge = tf.sigmoid(tf.conv2d(f, tf.slice(p.q, [0, 0, 0, 0], [1, 1, 6, 1]) as tf.Tensor4D, 1, "valid"));
  const gated = tf.mul(f, edge) as tf.Tensor4D;
  const rows = (t: tf.Tensor4D) => tf.transpose(t, [0, 3, 1, 2]); // [B,C,H,W]: per-channel H x H attention
  const [q, k, v] = [p.q, p.k, p.v].map((wt) => rows(tf.conv2d(gated, wt as tf.Tensor4D, 1, "valid")));
  const a = tf.softmax(tf.mul(tf.matMul(q, k, false, true), 0.5));
  const mixed = tf.transpose(tf.matMul(a, v), [0, 2, 3, 1]) as tf.Tensor4D;
  const fused = tf.add(f, mixed) as tf.Tensor4D;
  const att = tf.softplus(tf.conv2d(tf.mean(fused, 3, true) as tf.Tensor4D, p.att as tf.Tensor4D, 1, "same"));
  const desc = tf.conv2d(fused, p.w4 as tf.Tensor4D, 1, "same");
  const norm = tf.div(desc, tf.sqrt(tf.add(tf.sum(tf.square(desc), 3, true), 1e-8)));
  return tf.addN([tf.mean(tf.mul(norm, tf.sin(norm))), tf.mean(att), tf.mean(tf.square(tf.sub(edge, 0.3)))]) as tf.Scalar;
}

/** DesDis-like student: stride-2 convs, instance norm, batch norm. */
function desdisLike(p: P, x: tf.Tensor4D): tf.Scalar {
  let s1 = tf.conv2d(x, p.s1 as tf.Tensor4D, 2, "same");
  const m = tf.moments(s1, [1, 2], true);
  s1 = tf.relu(tf.div(tf.sub(s1, m.mean), tf.sqrt(tf.add(m.variance, 1e-5)))) as tf.Tensor4D;
  const s2 = tf.conv2d(s1, p.s2 as tf.Tensor4D, 2, "valid");
  const bm = tf.moments(s2, [0, 1, 2]);
  const bn = tf.batchNorm(s2, bm.mean, bm.variance, p.beta, p.gamma, 1e-5);
  // A random read-out: the mean square of a normalised tensor is constant, its gradient pure rounding.
  const readout = tf.tensor(randomValues(bn.size, 5), bn.shape);
  return tf.mean(tf.mul(tf.relu(bn), readout)) as tf.Scalar;
}

async function step(backend: "cpu" | "wasm") {
  await tf.setBackend(backend);
  const vars = Object.fromEntries(
    Object.entries(PARAMS).map(([k, shape], i) => [k, tf.variable(tf.tensor(randomValues(shape.reduce((a, b) => a * b), 300 + i), shape).mul(0.5), true, `${backend}-${k}`)]),
  );
  const x = tf.tensor4d(randomValues(2 * 12 * 10 * 3, 3), [2, 12, 10, 3]);
  const loss = () => tf.add(samfeatLike(vars, x), desdisLike(vars, x)) as tf.Scalar;
  const { value, grads } = tf.variableGrads(loss);
  const g = Object.fromEntries(Object.entries(grads).map(([k, t]) => [k.slice(backend.length + 1), t.dataSync() as Float32Array]));
  tf.dispose([value, ...Object.values(grads)]);
  const opt = tf.train.adam(1e-3);
  tf.dispose(opt.minimize(loss, true) ?? []);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 2; i++) tf.dispose(opt.minimize(loss, true) ?? []);
  const leaked = tf.memory().numTensors - before;
  const after = vars.w1.dataSync() as Float32Array;
  opt.dispose();
  tf.dispose([x, ...Object.values(vars)]);
  return { g, after, leaked };
}

test("a training step of SAMFeat- and DesDis-like nets runs on wasm with the gradients cpu computes", async () => {
  const ref = await step("cpu");
  const got = await step("wasm");
  assert.deepEqual(Object.keys(got.g).sort(), Object.keys(PARAMS).sort(), "a gradient for every parameter");
  for (const k of Object.keys(PARAMS)) {
    const err = scaledError(got.g[k], ref.g[k]);
    assert.ok(err < 1e-4, `gradient of ${k}: error ${err.toExponential(2)}`);
  }
  assert.ok(scaledError(got.after, ref.after) < 1e-4, "parameters after three Adam steps");
  assert.equal(got.leaked, 0, "tensors leaked per Adam step on wasm");
});
