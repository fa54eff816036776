// det: the detector's weighted binary cross-entropy (PointHeatmapWeightedBCELoss(weight=200) in the
// release, utils/utils.py L978-1009; method.md A.3):
//   σ = sigmoid(h);  ℓ = -[200·y·log(σ + 1e-4) + (1 - y)·log(1 - σ + 1e-4)]
//   L_det = mean over the 2B images of  Σ_pix m·ℓ / (Σ_pix m + 1)
// y: the binary keypoint map; m: the point mask (warp validity). Keypoints are rare, hence the
// weight 200 on positives; the +1 keeps an all-masked image at 0 instead of 0/0.
import * as tf from "@tensorflow/tfjs";
import type { PairOutputs, PairTargets } from "./types";

export interface DetectionOptions {
  /** Weight of the positive (keypoint) term; the release's point_loss_weight is 200. */
  positiveWeight?: number;
}

export function detectionLoss(outputs: PairOutputs, targets: PairTargets, options: DetectionOptions = {}): tf.Scalar {
  const positiveWeight = options.positiveWeight ?? 200;
  return tf.tidy(() => {
    const y = targets.keypoints; // [2B,H,W,1]
    const m = targets.pointMask; // [2B,H,W,1]
    const p = tf.sigmoid(outputs.heatmap); // [2B,H,W,1]
    // The 1e-4 sits inside the logs as in the release (not a clamped logit-space BCE), so a
    // saturated σ costs at most -log(1e-4) per pixel.
    const logP = tf.log(tf.add(p, 1e-4));
    const logQ = tf.log(tf.add(tf.sub(1, p), 1e-4));
    const l = tf.neg(tf.add(tf.mul(tf.mul(y, positiveWeight), logP), tf.mul(tf.sub(1, y), logQ)));
    const perImage = tf.div(tf.sum(tf.mul(l, m), [1, 2, 3]), tf.add(tf.sum(m, [1, 2, 3]), 1)); // [2B]
    return tf.mean(perImage) as tf.Scalar;
  });
}
