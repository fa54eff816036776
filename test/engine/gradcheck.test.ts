// Finite-difference check of a small conv net's gradients on wasm: conv - relu - maxpool - strided conv -
// bilinear resize (half-pixel) - per-channel row matmul with a transposed operand, read out linearly.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initEngine } from "../../lib/engine";
import { randomValues } from "./helpers";

before(async () => {
  process.env.SAMFEAT_NATIVE = "0";
  await initEngine({ backend: "wasm", quiet: true });
});

type Name = "x" | "w1" | "b1" | "w2";
const SHAPES: Record<Name, number[]> = {
  x: [2, 10, 10, 3],
  w1: [3, 3, 3, 4],
  b1: [4],
  w2: [3, 3, 4, 5],
};

// The net is piecewise linear in each parameter except the row matmul, which is quadratic, so central
// differences are exact up to float32 rounding unless a step crosses a ReLU/max kink.
function loss(p: Record<Name, tf.Tensor>, readout: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const a = tf.relu(tf.add(tf.conv2d(p.x as tf.Tensor4D, p.w1 as tf.Tensor4D, 1, "same"), p.b1));
    const pooled = tf.maxPool(a as tf.Tensor4D, 2, 2, "same"); // [2,5,5,4]
    const c = tf.conv2d(pooled, p.w2 as tf.Tensor4D, 2, "same"); // [2,3,3,5]
    const up = tf.image.resizeBilinear(c, [7, 6], false, true); // [2,7,6,5]
    const rows = tf.reshape(tf.transpose(up, [0, 3, 1, 2]), [10, 7, 6]);
    const scores = tf.matMul(rows, rows, false, true); // [10,7,7]
    return tf.sum(tf.mul(scores, readout)) as tf.Scalar;
  });
}

test("wasm gradients of a small conv net match central finite differences", async () => {
  const values = Object.fromEntries(
    (Object.keys(SHAPES) as Name[]).map((k, i) => [k, randomValues(SHAPES[k].reduce((a, b) => a * b, 1), 31 + i)]),
  ) as Record<Name, Float32Array>;
  const readout = tf.tensor(randomValues(10 * 7 * 7, 99), [10, 7, 7]);
  const tensors = (vals: Record<Name, Float32Array>) =>
    Object.fromEntries((Object.keys(SHAPES) as Name[]).map((k) => [k, tf.tensor(vals[k], SHAPES[k])])) as Record<Name, tf.Tensor>;

  const p = tensors(values);
  const names = Object.keys(SHAPES) as Name[];
  const grads = tf.grads((...ts: tf.Tensor[]) => loss(Object.fromEntries(names.map((k, i) => [k, ts[i]])) as Record<Name, tf.Tensor>, readout))(
    names.map((k) => p[k]),
  );
  const analytic = Object.fromEntries(names.map((k, i) => [k, grads[i].dataSync() as Float32Array])) as Record<Name, Float32Array>;
  tf.dispose([...grads, ...Object.values(p)]);

  const eps = 1e-2;
  const evalLoss = (vals: Record<Name, Float32Array>) => {
    const t = tensors(vals);
    const l = loss(t, readout);
    const v = l.dataSync()[0];
    tf.dispose([l, ...Object.values(t)]);
    return v;
  };
  let checked = 0;
  for (const name of names) {
    const n = values[name].length;
    const scale = Math.max(...Array.from(analytic[name], Math.abs));
    // Every bias entry, and spread-out entries of the larger tensors.
    const picks = n <= 8 ? [...Array(n).keys()] : [0, 1, Math.floor(n / 3), Math.floor(n / 2), n - 2, n - 1];
    for (const i of picks) {
      const plus = { ...values, [name]: Float32Array.from(values[name]) };
      const minus = { ...values, [name]: Float32Array.from(values[name]) };
      plus[name][i] += eps;
      minus[name][i] -= eps;
      const fd = (evalLoss(plus) - evalLoss(minus)) / (2 * eps);
      const an = analytic[name][i];
      assert.ok(
        Math.abs(fd - an) <= 1e-2 * Math.max(Math.abs(fd), Math.abs(an)) + 1e-3 * scale,
        `${name}[${i}]: finite difference ${fd} vs gradient ${an}`,
      );
      checked++;
    }
  }
  assert.ok(checked >= 20);
  readout.dispose();
});
