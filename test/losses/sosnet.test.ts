import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initEngine } from "../../lib/engine";
import { sosnetLoss, sosTerms } from "../../lib/losses/sosnet";
import { checkGradients, l2normalize, randomValues, unitVectors, scalarValue } from "./patch-helpers";

before(async () => {
  await initEngine({ backend: "cpu", quiet: true });
});

const value = scalarValue;

// Four pairs, two clusters: a = 0, 10, 180, 190 deg; p = 5, 25, 185, 195 deg. Distances of unit vectors
// t apart are 2 sin(t/2) (the code's sqrt(. + 1e-6) moves them by < 1e-5 here; the numbers below include it).
// First order: positives LR[i,i] = 2 sin 2.5 = 0.087245, 2 sin 7.5 = 0.261054, 0.087245, 0.087245.
//   Hardest negatives over {a_i vs other p, a_i vs other a, p_i vs other a, p_i vs other p}: every pair
//   has a descriptor 5 deg away (p0-a1, a1-p0, p2-a3, a3-p2): 0.087245.
//   FOS = (1 + pos - neg)^2 = 1, (1 + 0.261054 - 0.087245)^2 = 1.377829, 1, 1 -> mean 1.094457.
// Second order, k = 1: each descriptor's nearest neighbour (L rows, R columns, LR rows and columns) is
//   its cluster mate, so A = {(0,1), (1,0), (2,3), (3,2)}.
//   SOS_0 = SOS_1 = |L01 - R01| = |2 sin 5 - 2 sin 10| = |0.174314 - 0.347298| = 0.172986;
//   SOS_2 = SOS_3 = sqrt(0 + 1e-6) = 0.001 (both clusters 10 deg wide) -> mean 0.086993.
// k = 3 takes every other descriptor: SOS_i = sqrt(sum_{j != i} (L_ij - R_ij)^2 + 1e-6)
//   = 0.172986, 0.174645, 0.022796, 0.007676 -> mean 0.094526.
test("SOSNet loss on four pairs of 2-D unit vectors: first order, and second order with k = 1 and k = 3", () => {
  const a = unitVectors([0, 10, 180, 190]);
  const p = unitVectors([5, 25, 185, 195]);
  const fos = value(sosnetLoss(a, p, { sosWeight: 0 }));
  assert.ok(Math.abs(fos - 1.094457) < 1e-5, `first order: ${fos}`);
  const sos1 = sosTerms(a, p, 1);
  const expected1 = [0.172986, 0.172986, 0.001, 0.001];
  sos1.dataSync().forEach((v, i) => assert.ok(Math.abs(v - expected1[i]) < 1e-5, `k=1 SOS_${i}: ${v}`));
  const k1 = value(sosnetLoss(a, p, { knn: 1 }));
  const k3 = value(sosnetLoss(a, p, { knn: 3 }));
  assert.ok(Math.abs(k1 - (1.094457 + 0.086993)) < 1e-5, `k=1: ${k1}`);
  assert.ok(Math.abs(k3 - (1.094457 + 0.094526)) < 1e-5, `k=3: ${k3}`);
  // The default k = 8 exceeds the batch: every neighbour, as k = 3.
  assert.ok(Math.abs(value(sosnetLoss(a, p)) - k3) < 1e-6);
  // The released code sums over the batch: 4 times the means.
  assert.ok(Math.abs(value(sosnetLoss(a, p, { knn: 1, reduction: "sum" })) - 4 * (1.094457 + 0.086993)) < 4e-5);
  tf.dispose([a, p, sos1]);
});

// a = 0, 100, 200 deg; p = 90, 190, 300 deg, k = 1. Nearest neighbours: a0-a1, a1-a0 (tie, first), a2-a1;
// p0-p1, p1-p0, p2-p1: the paper's set (L and R) is {0-1, 1-2}. The code's also takes a0's nearest
// positive p2 (60 deg), adding 0-2.
//   L - R: (0,1) 100 vs 100 deg: 0; (1,2) 100 vs 110 deg: 1.532089 - 1.638304 = -0.106215;
//          (0,2) 160 vs 150 deg: 1.969616 - 1.931852 = 0.037764
//   code:  SOS = sqrt(0.037764^2 + 1e-6) = 0.037777, sqrt(0.106215^2 + 1e-6) = 0.106220,
//          sqrt(0.037764^2 + 0.106215^2 + 1e-6) = 0.112733
//   paper: SOS = 0.001, 0.106220, 0.106220
test("SOSNet second-order term: the code's neighbour set (with cross-set neighbours) vs the paper's", () => {
  const a = unitVectors([0, 100, 200]);
  const p = unitVectors([90, 190, 300]);
  const code = sosTerms(a, p, 1);
  const paper = sosTerms(a, p, 1, 0.008, "paper");
  const want = { code: [0.037777, 0.10622, 0.112733], paper: [0.001, 0.10622, 0.10622] };
  code.dataSync().forEach((v, i) => assert.ok(Math.abs(v - want.code[i]) < 1e-5, `code SOS_${i}: ${v}`));
  paper.dataSync().forEach((v, i) => assert.ok(Math.abs(v - want.paper[i]) < 1e-5, `paper SOS_${i}: ${v}`));
  const fos = value(sosnetLoss(a, p, { sosWeight: 0 }));
  const total = value(sosnetLoss(a, p, { knn: 1, neighbours: "paper" }));
  assert.ok(Math.abs(total - fos - (0.001 + 0.10622 * 2) / 3) < 1e-5);
  tf.dispose([a, p, code, paper]);
});

// a = 0, 90, 200 deg; p = 20, 110, 0.4 deg: p2 is 0.4 deg from a0 (0.007053 with the epsilon), under 0.008.
// First order only (sosWeight 0). Positives: 0.347298, 0.347298, a2-p2 160.4 deg 1.970822.
//   Pair 0: a0 vs p2 is a false negative; next nearest p0 vs p2 (19.6 deg) 0.340420
//           -> (1 + 0.347298 - 0.340420)^2 = 1.013802; kept: (1 + 0.347298 - 0.007053)^2 = 1.796257
//   Pair 1: nearest p0 vs a1 (70 deg) 1.147153 -> (1 + 0.347298 - 1.147153)^2 = 0.040058
//   Pair 2: p2 vs a0 is the false negative; next p2 vs p0 0.340420 -> (1 + 1.970822 - 0.340420)^2 = 6.918981;
//           kept: (1 + 1.970822 - 0.007053)^2 = 8.783894
//   means: 2.657614 (threshold 0.008) and 3.540070 (threshold 0)
test("SOSNet loss: the 0.008 false-negative exclusion changes the mined negatives", () => {
  const a = unitVectors([0, 90, 200]);
  const p = unitVectors([20, 110, 0.4]);
  const excluded = value(sosnetLoss(a, p, { sosWeight: 0 }));
  const kept = value(sosnetLoss(a, p, { sosWeight: 0, falseNegativeThreshold: 0 }));
  assert.ok(Math.abs(excluded - 2.657614) < 2e-5, `threshold 0.008: ${excluded}`);
  assert.ok(Math.abs(kept - 3.54007) < 2e-5, `threshold 0: ${kept}`);
  tf.dispose([a, p]);
});

test("SOSNet loss: gradients match central differences", () => {
  const n = 6;
  const dim = 4;
  const x = tf.tensor2d(randomValues(n * dim, 21), [n, dim]);
  const y = tf.tensor2d(randomValues(n * dim, 22), [n, dim]);
  checkGradients((xa, xp) => sosnetLoss(l2normalize(xa as tf.Tensor2D), l2normalize(xp as tf.Tensor2D), { knn: 2, margin: 2 }), [x, y]);
  tf.dispose([x, y]);
});
