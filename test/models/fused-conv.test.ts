// The FusedConv2D gradient: equal to the unfused ops' gradients, and lazy per input.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initEngine } from "../../lib/engine";
import { conv2dBiasAct } from "../../lib/models/fused-conv";

before(async () => {
  await initEngine({ backend: "cpu", quiet: true });
});

const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

for (const activation of ["linear", "relu"] as const) {
  for (const pad of ["same", "valid"] as const) {
    test(`${activation}, pad ${pad}: value and x, filter, bias gradients equal conv2d + add (+ relu)`, () => {
      const x = tf.randomNormal([2, 7, 6, 3], 0, 1, "float32", 1) as tf.Tensor4D;
      const w = tf.randomNormal([3, 3, 3, 5], 0, 1, "float32", 2) as tf.Tensor4D;
      const b = tf.randomNormal([5], 0, 1, "float32", 3) as tf.Tensor1D;
      const weights = tf.randomNormal([2, pad === "same" ? 7 : 5, pad === "same" ? 6 : 4, 5], 0, 1, "float32", 4);
      const loss = (f: (x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D) => tf.Tensor) => (xs: tf.Tensor4D, ws: tf.Tensor4D, bs: tf.Tensor1D) =>
        tf.sum(tf.mul(f(xs, ws, bs), weights)) as tf.Scalar;
      const fused = (xs: tf.Tensor4D, ws: tf.Tensor4D, bs: tf.Tensor1D) => conv2dBiasAct(xs, ws, bs, activation, pad);
      const plain = (xs: tf.Tensor4D, ws: tf.Tensor4D, bs: tf.Tensor1D) => {
        const z = tf.add(tf.conv2d(xs, ws, 1, pad), bs);
        return activation === "relu" ? tf.relu(z) : z;
      };
      const got = tf.grads(loss(fused) as (...t: tf.Tensor[]) => tf.Tensor)([x, w, b]);
      const want = tf.grads(loss(plain) as (...t: tf.Tensor[]) => tf.Tensor)([x, w, b]);
      assert.ok(maxAbsDiff(fused(x, w, b), plain(x, w, b)) < 1e-5, "value");
      ["x", "filter", "bias"].forEach((name, i) => {
        const scale = tf.max(tf.abs(want[i])).dataSync()[0];
        assert.ok(scale > 0, `${name}: empty comparison`);
        assert.ok(maxAbsDiff(got[i], want[i]) <= 1e-5 * scale, `${name}: ${maxAbsDiff(got[i], want[i])}`);
      });
      tf.dispose([x, w, b, weights, ...got, ...want]);
    });
  }
}

test("a constant input gets no gradient computed: no Conv2DBackpropInput runs", async () => {
  const x = tf.randomNormal([1, 8, 8, 3], 0, 1, "float32", 5) as tf.Tensor4D;
  const w = tf.variable(tf.randomNormal([3, 3, 3, 4], 0, 1, "float32", 6));
  const b = tf.variable(tf.zeros([4]));
  const kernelsRun = async (withInput: boolean) => {
    const info = await tf.profile(() => {
      const input = () => (withInput ? (tf.mul(x, tf.sum(w)) as tf.Tensor4D) : x);
      const f = () => tf.sum(conv2dBiasAct(input(), w as tf.Tensor4D, b, "relu")) as tf.Scalar;
      const { value, grads } = tf.variableGrads(f, [w, b]);
      tf.dispose([value, ...Object.values(grads)]);
    });
    return info.kernelNames;
  };
  const constant = await kernelsRun(false);
  assert.ok(constant.includes("Conv2DBackpropFilter"), "the filter gradient ran");
  assert.ok(!constant.includes("Conv2DBackpropInput"), `input gradient computed for a constant: ${constant}`);
  // The same convolution fed by a tensor that depends on a variable does need it.
  assert.ok((await kernelsRun(true)).includes("Conv2DBackpropInput"));
  tf.dispose([x, w, b]);
});
