// Shared by the patch-loss tests: 2-D unit vectors from angles, and a finite-difference gradient check.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { randomValues } from "../engine/helpers";

/** Unit vectors (cos t, sin t) for angles in degrees, as an [N,2] tensor. */
export function unitVectors(degrees: number[]): tf.Tensor2D {
  const v = degrees.flatMap((t) => [Math.cos((t * Math.PI) / 180), Math.sin((t * Math.PI) / 180)]);
  return tf.tensor2d(v, [degrees.length, 2]);
}

export { randomValues };

/** The number in a scalar, the tensor disposed. */
export function scalarValue(t: tf.Scalar): number {
  const v = t.dataSync()[0];
  t.dispose();
  return v;
}

export function l2normalize(x: tf.Tensor2D): tf.Tensor2D {
  return tf.div(x, tf.norm(x, 2, 1, true)) as tf.Tensor2D;
}

/**
 * Compare tf.grads of `loss` (a function of the inputs) with central differences, at every entry of
 * every input. The losses are piecewise smooth; the random inputs keep every step inside one piece.
 */
export function checkGradients(loss: (...xs: tf.Tensor[]) => tf.Scalar, inputs: tf.Tensor[], eps = 1e-3): number {
  const analytic = tf.grads((...xs: tf.Tensor[]) => loss(...xs))(inputs).map((g) => g.dataSync() as Float32Array);
  const values = inputs.map((x) => Float64Array.from(x.dataSync()));
  const evalAt = (k: number, i: number, delta: number) => {
    const xs = values.map((v, j) => {
      const c = Float32Array.from(v);
      if (j === k) c[i] += delta;
      return tf.tensor(c, inputs[j].shape);
    });
    const l = loss(...xs);
    const out = l.dataSync()[0];
    tf.dispose([l, ...xs]);
    return out;
  };
  let checked = 0;
  let nonzero = 0;
  for (let k = 0; k < inputs.length; k++) {
    for (let i = 0; i < values[k].length; i++) {
      const fd = (evalAt(k, i, eps) - evalAt(k, i, -eps)) / (2 * eps);
      const an = analytic[k][i];
      assert.ok(Math.abs(fd - an) <= 2e-3 + 2e-2 * Math.abs(an), `input ${k} entry ${i}: finite difference ${fd} vs gradient ${an}`);
      if (Math.abs(an) > 1e-4) nonzero++;
      checked++;
    }
  }
  assert.ok(nonzero > checked / 4, `only ${nonzero} of ${checked} gradient entries are non-zero: the check would be vacuous`);
  return checked;
}
