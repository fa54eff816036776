import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initEngine } from "../../lib/engine";
import { groupedMatMul } from "../../lib/models/grouped-matmul";
import { groupedRowAttention } from "../../lib/models/samfeat";
import { randomValues, runOn, scaledError } from "../engine/helpers";

/** z[m,g,n] = sum_k x[m,k,g] y[k,g,n] in float64, loop by loop. */
function reference(x: Float32Array, y: Float32Array, m: number, k: number, g: number, n: number): Float64Array {
  const z = new Float64Array(m * g * n);
  for (let i = 0; i < m; i++)
    for (let c = 0; c < g; c++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += x[(i * k + p) * g + c] * y[(p * g + c) * n + j];
        z[(i * g + c) * n + j] = s;
      }
  return z;
}

test("groupedMatMul equals per-group matmuls on cpu and wasm, the row attention's shapes included", async () => {
  await initEngine({ backend: "wasm", quiet: true });
  // [M,K,G,N]: tiny, non-square with odd sizes, and scaled-down shapes of the attention's q k^T and a v.
  for (const [m, k, g, n] of [[1, 1, 1, 1], [3, 5, 7, 2], [12, 16, 24, 12], [12, 12, 24, 16]]) {
    const xv = randomValues(m * k * g, 11 + m);
    const yv = randomValues(k * g * n, 29 + n);
    const ref = reference(xv, yv, m, k, g, n);
    for (const backend of ["cpu", "wasm"] as const) {
      const [z] = await runOn(backend, () => [groupedMatMul(tf.tensor3d(xv, [m, k, g]), tf.tensor3d(yv, [k, g, n]))]);
      assert.deepEqual(z.shape, [m, g, n]);
      const e = scaledError(z.values, ref);
      assert.ok(e < 1e-5, `${backend} [${m},${k},${g},${n}]: error ${e}`);
    }
  }
});

test("groupedMatMul rejects mismatched operands", async () => {
  await tf.setBackend("cpu");
  assert.throws(() => groupedMatMul(tf.zeros([2, 3, 4]), tf.zeros([3, 5, 2])), /grouped-matmul/);
});

test("groupedRowAttention: values and q, k, v gradients equal softmax(q k^T / 100) v by tf.matMul", async () => {
  // cpu: tf.matMul's own gradients are the independent reference for the hand-written backward pass.
  await tf.setBackend("cpu");
  const [g, h, w] = [6, 5, 7];
  const inputs = [1, 2, 3].map((s) => tf.tensor3d(randomValues(g * h * w, s).map((v) => v * 30), [g, h, w]));
  const cotangent = tf.tensor3d(randomValues(h * g * w, 4), [h, g, w]); // weights on the [H,G,W] output
  const viaMatMul = (q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D) =>
    tf.transpose(tf.matMul(tf.softmax(tf.mul(tf.matMul(q, k, false, true), 0.01)), v), [1, 0, 2]) as tf.Tensor3D;
  const loss = (f: typeof viaMatMul) => (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) =>
    tf.sum(tf.mul(f(q as tf.Tensor3D, k as tf.Tensor3D, v as tf.Tensor3D), cotangent));
  const ours = tf.grads(loss(groupedRowAttention))(inputs);
  const ref = tf.grads(loss(viaMatMul))(inputs);
  const value = groupedRowAttention(inputs[0] as tf.Tensor3D, inputs[1] as tf.Tensor3D, inputs[2] as tf.Tensor3D);
  const refValue = viaMatMul(inputs[0] as tf.Tensor3D, inputs[1] as tf.Tensor3D, inputs[2] as tf.Tensor3D);
  assert.ok(scaledError(value.dataSync() as Float32Array, refValue.dataSync() as Float32Array) < 1e-5, "values");
  ["q", "k", "v"].forEach((name, i) => {
    const e = scaledError(ours[i].dataSync() as Float32Array, ref[i].dataSync() as Float32Array);
    assert.ok(e < 1e-4, `gradient of ${name}: error ${e}`);
  });
  tf.dispose([...inputs, cotangent, ...ours, ...ref, value, refValue]);
});
