import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initEngine } from "../../lib/engine";
import { hynetLoss } from "../../lib/losses/hynet";
import { checkGradients, l2normalize, randomValues, unitVectors, scalarValue } from "./patch-helpers";

before(async () => {
  await initEngine({ backend: "cpu", quiet: true });
});

const value = scalarValue;

// Three pairs: a = 0, 60, 180 deg; p = 20, 100, 210 deg; raw norms |x_a| = 2, 1, 3 and |x_p| = 1.5, 1, 2.
// Distances (2 sin(t/2), with the code's 1e-6): positives 0.347298 (20 deg), 0.684041 (40), 0.517639 (30).
// Hardest negatives (a_i vs other p and a, p_i vs other a and p):
//   pair 0: p0 (20) vs a1 (60), 40 deg: 0.684041;  pair 1: a1 (60) vs p0 (20): 0.684041;
//   pair 2: a2 (180) vs p1 (100), 80 deg: 1.285576.
// Hybrid h(d) = d + alpha d^2 / 2 = d + d^2 (alpha 2); margin 1.2:
//   pair 0: 1.2 + (0.347298 + 0.120616) - (0.684041 + 0.467912) = 0.515960
//   pair 1: 1.2 + h(0.684041) - h(0.684041) = 1.2
//   pair 2: 1.2 + (0.517639 + 0.267950) - (1.285576 + 1.652706) < 0 -> 0
//   triplet mean 0.571987; norm term 0.1 * mean((2-1.5)^2, 0, (3-2)^2) = 0.1 * 0.416667 = 0.041667
//   total 0.613653. With alpha 0 (plain L2): 0.863257, 1.2, 0.432063 -> 0.831773 + 0.041667 = 0.873440.
test("HyNet loss on three pairs of 2-D vectors: hybrid triplet plus the positive-pair norm regulariser", () => {
  const angles = { a: [0, 60, 180], p: [20, 100, 210] };
  const a = unitVectors(angles.a);
  const p = unitVectors(angles.p);
  const rawA = tf.mul(a, tf.tensor2d([2, 1, 3], [3, 1])) as tf.Tensor2D;
  const rawP = tf.mul(p, tf.tensor2d([1.5, 1, 2], [3, 1])) as tf.Tensor2D;
  const total = value(hynetLoss(a, p, rawA, rawP));
  assert.ok(Math.abs(total - 0.613653) < 1e-5, `default: ${total}`);
  const plain = value(hynetLoss(a, p, rawA, rawP, { alpha: 0 }));
  assert.ok(Math.abs(plain - 0.87344) < 1e-5, `alpha 0: ${plain}`);
  const noReg = value(hynetLoss(a, p, rawA, rawP, { gamma: 0 }));
  assert.ok(Math.abs(noReg - 0.571987) < 1e-5, `gamma 0: ${noReg}`);
  // The released code sums: 1.715960 + 0.1 * 1.25.
  const sum = value(hynetLoss(a, p, rawA, rawP, { reduction: "sum" }));
  assert.ok(Math.abs(sum - 1.84096) < 3e-5, `sum: ${sum}`);
  tf.dispose([a, p, rawA, rawP]);
});

test("HyNet loss: gradients match central differences (through the normalisation and the raw norms)", () => {
  const n = 5;
  const dim = 4;
  const x = tf.tensor2d(randomValues(n * dim, 31), [n, dim]);
  const y = tf.tensor2d(randomValues(n * dim, 32), [n, dim]);
  checkGradients((xa, xp) => {
    const ra = xa as tf.Tensor2D;
    const rp = xp as tf.Tensor2D;
    return hynetLoss(l2normalize(ra), l2normalize(rp), ra, rp, { margin: 3 });
  }, [x, y]);
  tf.dispose([x, y]);
});

test("HyNet loss: the raw descriptors must match the pairs", () => {
  const a = unitVectors([0, 60, 180]);
  const r = unitVectors([0, 60]);
  assert.throws(() => hynetLoss(a, a, r, r), /hynetLoss: 2 raw pairs for 3 pairs/);
  tf.dispose([a, r]);
});
