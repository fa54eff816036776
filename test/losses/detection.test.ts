import { before, test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { detectionLoss } from "../../lib/losses/detection";
import { assertClose, checkGradient, makeOutputs, makeTargets, randomValues, value } from "./samfeat-helpers";

before(async () => {
  await tf.setBackend("cpu");
});

// One pair (2 images) of 2x2 pixels (the loss needs no multiple of 8).
const base = { B: 1, H: 2, W: 2, n: 1, points: [0, 0, 0, 0] };

test("det: weighted BCE with +1e-4 in the logs and Σ m·ℓ / (Σ m + 1) per image, mean over images", () => {
  // Image 0: logits [0, ln 3; 0, 0] -> σ = [1/2, 3/4; 1/2, 1/2]; keypoint at (0,0); mask all 1.
  //   ℓ(0,0) = -200·log(0.5 + 1e-4)            (positive)
  //   ℓ(0,1) = -log(1 - 0.75 + 1e-4)           (negative, σ = 3/4)
  //   ℓ(1,0) = ℓ(1,1) = -log(0.5 + 1e-4)
  //   per image = Σ ℓ / (4 + 1)
  // Image 1: logits [0, 5; 0, 0], keypoint at (0,1), mask only at (0,0): the masked keypoint and
  //   its logit are ignored; per image = -log(0.5 + 1e-4) / (1 + 1).
  const heatmap = tf.tensor4d([0, Math.log(3), 0, 0, 0, 5, 0, 0], [2, 2, 2, 1]);
  const keypoints = tf.tensor4d([1, 0, 0, 0, 0, 1, 0, 0], [2, 2, 2, 1]);
  const pointMask = tf.tensor4d([1, 1, 1, 1, 1, 0, 0, 0], [2, 2, 2, 1]);
  const img0 = (-200 * Math.log(0.5001) - Math.log(0.2501) - 2 * Math.log(0.5001)) / 5;
  const img1 = -Math.log(0.5001) / 2;
  const targets = makeTargets({ ...base, keypoints, pointMask });
  const got = value(detectionLoss(makeOutputs(1, 2, 2, { heatmap }), targets));
  assertClose(got, (img0 + img1) / 2, 1e-4, "det");
  // A saturated logit on a keypoint costs at most 200·(-log 1e-4)/(Σm+1): the 1e-4 is inside the log.
  const sat = tf.tensor4d([-100, 0, 0, 0, 0, 0, 0, 0], [2, 2, 2, 1]);
  const satImg0 = (-200 * Math.log(1e-4) - Math.log(0.5001) - 2 * Math.log(0.5001)) / 5;
  assertClose(value(detectionLoss(makeOutputs(1, 2, 2, { heatmap: sat }), targets)), (satImg0 + img1) / 2, 1e-2, "saturated det");
  // positiveWeight option replaces the 200.
  const w1 = (-1 * Math.log(0.5001) - Math.log(0.2501) - 2 * Math.log(0.5001)) / 5;
  assertClose(value(detectionLoss(makeOutputs(1, 2, 2, { heatmap }), targets, { positiveWeight: 1 })), (w1 + img1) / 2, 1e-5, "det, weight 1");
});

test("det: gradient w.r.t. the heatmap matches finite differences", () => {
  const [B, H, W] = [2, 4, 6];
  const keypoints = tf.tensor4d(randomValues(2 * B * H * W, 11).map((v) => (v > 0.7 ? 1 : 0)), [2 * B, H, W, 1]);
  const pointMask = tf.tensor4d(randomValues(2 * B * H * W, 12).map((v) => (v > -0.6 ? 1 : 0)), [2 * B, H, W, 1]);
  const targets = makeTargets({ B, H, W, n: 1, points: new Array(2 * B * 2).fill(0), keypoints, pointMask });
  const heatmap = tf.tensor4d(randomValues(2 * B * H * W, 13).map((v) => 3 * v), [2 * B, H, W, 1]);
  checkGradient((x) => detectionLoss(makeOutputs(B, H, W, { heatmap: x.heatmap as tf.Tensor4D }), targets), { heatmap });
});
