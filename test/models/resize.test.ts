import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { interpolationMatrix, resizeBilinear } from "../../lib/models/resize";

test("interpolation matrix: PyTorch's half-pixel sampling, clamped at the borders", () => {
  // 2 -> 4: sources -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1).
  assert.deepEqual([...interpolationMatrix(2, 4)], [1, 0, 0.75, 0.25, 0.25, 0.75, 0, 1]);
  // 4 -> 2: sources 0.5 and 2.5, i.e. averages of pairs.
  assert.deepEqual([...interpolationMatrix(4, 2)], [0.5, 0.5, 0, 0, 0, 0, 0.5, 0.5]);
});

test("forward equals tf.image.resizeBilinear(halfPixelCenters) for up-, down- and mixed resizes", async () => {
  await tf.setBackend("cpu");
  const x = tf.randomNormal([2, 16, 24, 3], 0, 1, "float32", 5) as tf.Tensor4D;
  for (const size of [[32, 48], [4, 6], [8, 12], [8, 48], [16, 24], [5, 7]] as [number, number][]) {
    const ref = tf.image.resizeBilinear(x, size, false, true);
    const got = resizeBilinear(x, size);
    assert.deepEqual(got.shape, ref.shape);
    const err = tf.max(tf.abs(tf.sub(got, ref))).dataSync()[0];
    assert.ok(err < 1e-6, `${size}: ${err}`);
  }
});

test("gradient is the exact adjoint: <R x, y> == <x, R^T y>, on non-square shapes", async () => {
  await tf.setBackend("cpu");
  const x = tf.randomNormal([2, 6, 10, 3], 0, 1, "float32", 1) as tf.Tensor4D;
  for (const size of [[12, 20], [24, 40], [3, 5], [12, 5]] as [number, number][]) {
    const y = tf.randomNormal([2, ...size, 3], 0, 1, "float32", 2);
    const f = (t: tf.Tensor) => tf.sum(tf.mul(resizeBilinear(t as tf.Tensor4D, size), y));
    const g = tf.grad(f)(x);
    assert.deepEqual(g.shape, x.shape);
    const lhs = tf.sum(tf.mul(tf.image.resizeBilinear(x, size, false, true), y)).dataSync()[0];
    const rhs = tf.sum(tf.mul(x, g)).dataSync()[0];
    assert.ok(Math.abs(lhs - rhs) < 1e-4 * Math.max(1, Math.abs(lhs)), `${size}: ${lhs} vs ${rhs}`);
  }
});
