import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initEngine } from "../../lib/engine";
import { hardnetLoss } from "../../lib/losses/hardnet";
import { choiceIndices, hardestNegativePairs, hardnetDistanceMatrix, hardnetMiningMatrix } from "../../lib/losses/patch-mining";
import { checkGradients, l2normalize, randomValues, unitVectors, scalarValue } from "./patch-helpers";

before(async () => {
  await initEngine({ backend: "cpu", quiet: true });
});

const value = scalarValue;

// Unit vectors at angle t apart are 2 sin(t/2) apart. The reference's epsilons (sqrt(. + 1e-6) + 1e-8)
// move these distances by < 2e-6.
// Pairs: a = 0, 50, 180 deg; p = 20, 90, 200 deg.
//   positives: d(a0,p0) = 2 sin 10 = 0.347296, d(a1,p1) = 2 sin 20 = 0.684040, d(a2,p2) = 0.347296
//   row i (a_i vs p_j, j != i): row0 min(p1: 90 deg 1.414214, p2: 160 deg 1.969616) = 1.414214
//                               row1 min(p0: 30 deg 0.517638, p2: 150 deg 1.931852) = 0.517638
//                               row2 min(p0: 160 deg 1.969616, p1: 90 deg 1.414214) = 1.414214
//   col i (p_i vs a_k, k != i):  col0 min(a1: 30 deg 0.517638, a2: 160 deg) = 0.517638
//                               col1 min(a0: 90 deg 1.414214, a2: 90 deg 1.414214) = 1.414214
//                               col2 min(a0: 160 deg, a1: 150 deg 1.931852) = 1.931852
//   no swap: max(0, 1 + 0.347296 - 1.414214) = 0, 1 + 0.684040 - 0.517638 = 1.166402, 0 -> mean 0.388801
//   swap: pair 0's negative becomes a1 (0.517638): 1 + 0.347296 - 0.517638 = 0.829659;
//         pair 1 unchanged 1.166402; pair 2 min(1.414214, 1.931852) -> 0 -> mean 0.665354
test("HardNet loss on three pairs of 2-D unit vectors; the anchor swap changes it", () => {
  const a = unitVectors([0, 50, 180]);
  const p = unitVectors([20, 90, 200]);
  const swap = value(hardnetLoss(a, p));
  const noSwap = value(hardnetLoss(a, p, { anchorSwap: false }));
  assert.ok(Math.abs(noSwap - 0.388801) < 1e-5, `no swap: ${noSwap}`);
  assert.ok(Math.abs(swap - 0.665354) < 1e-5, `swap: ${swap}`);
  // The sum reduction is N times the mean; the margin enters linearly where active.
  assert.ok(Math.abs(value(hardnetLoss(a, p, { reduction: "sum" })) - 3 * 0.665354) < 3e-5);
  assert.ok(Math.abs(value(hardnetLoss(a, p, { margin: 0.5, anchorSwap: false })) - (0.5 + 0.684040 - 0.517638) / 3) < 1e-5);
  tf.dispose([a, p]);
});

// Pairs: a = 0, 90, 200 deg; p = 20, 110, 0.4 deg. p2 is 0.4 deg from a0: 2 sin 0.2 = 0.006981 < 0.008,
// a false negative of pair 0 (no anchor swap here, rows only).
//   positives: 2 sin 10 = 0.347296, 2 sin 10 = 0.347296, a2-p2 160.4 deg: 2 sin 80.2 = 1.970822
//   row0: p1 110 deg 1.638304, p2 0.006981 -> excluded: 1.638304 -> loss 0;  kept: HardNet's sqrt(d^2 + 1e-6)
//         makes it sqrt(0.006981^2 + 1e-6) = 0.007053, so 1 + 0.347296 - 0.007053 = 1.340243
//   row1: p0 70 deg 1.147153, p2 89.6 deg 1.409282 -> 1 + 0.347296 - 1.147153 = 0.200143
//   row2: p0 180 deg 2, p1 90 deg 1.414214 -> 1 + 1.970822 - 1.414214 = 1.556608
//   threshold 0.008: (0 + 0.200143 + 1.556608) / 3 = 0.585584;  threshold 0: (1.340243 + ...) / 3 = 1.032331
test("HardNet loss: a negative closer than 0.008 is a false negative and is not mined", () => {
  const a = unitVectors([0, 90, 200]);
  const p = unitVectors([20, 110, 0.4]);
  const excluded = value(hardnetLoss(a, p, { anchorSwap: false }));
  const kept = value(hardnetLoss(a, p, { anchorSwap: false, falseNegativeThreshold: 0 }));
  assert.ok(Math.abs(excluded - 0.585584) < 1e-5, `threshold 0.008: ${excluded}`);
  assert.ok(Math.abs(kept - 1.032331) < 1e-5, `threshold 0: ${kept}`);
  // Which pairs were mined: row-major flat indices into the 3x3 anchor-positive matrix.
  const d = hardnetDistanceMatrix(a, p);
  const pairs = (threshold: number) => {
    const m = hardnetMiningMatrix(d, threshold);
    const choice = hardestNegativePairs(m, false);
    const out = choiceIndices(choice);
    tf.dispose([m, choice.rows, choice.cols]);
    return out;
  };
  assert.deepEqual(pairs(0.008), [0 * 3 + 1, 1 * 3 + 0, 2 * 3 + 1]);
  assert.deepEqual(pairs(0), [0 * 3 + 2, 1 * 3 + 0, 2 * 3 + 1]);
  tf.dispose([a, p, d]);
});

test("HardNet loss: a pair whose every candidate is excluded contributes nothing (negative offset by 10)", () => {
  // Two pairs, all four vectors equal: both negatives are false negatives, positives ~1e-3 -> loss 0.
  const a = unitVectors([30, 30]);
  assert.equal(value(hardnetLoss(a, a)), 0);
  a.dispose();
});

test("HardNet loss: gradients match central differences", () => {
  const n = 6;
  const dim = 5;
  const x = tf.tensor2d(randomValues(n * dim, 11), [n, dim]);
  const y = tf.tensor2d(randomValues(n * dim, 12), [n, dim]);
  // Margin 2 keeps every triplet active, so every entry has a gradient.
  const checked = checkGradients((xa, xp) => hardnetLoss(l2normalize(xa as tf.Tensor2D), l2normalize(xp as tf.Tensor2D), { margin: 2 }), [x, y]);
  assert.equal(checked, 2 * n * dim);
  tf.dispose([x, y]);
});

test("HardNet loss: shape errors", () => {
  const a = tf.zeros([3, 4]) as tf.Tensor2D;
  const b = tf.zeros([2, 4]) as tf.Tensor2D;
  assert.throws(() => hardnetLoss(a, b), /hardnetLoss: anchors and positives must both be \[N,D\]/);
  assert.throws(() => hardnetLoss(tf.zeros([1, 4]) as tf.Tensor2D, tf.zeros([1, 4]) as tf.Tensor2D), /at least 2 pairs/);
  tf.dispose([a, b]);
});
