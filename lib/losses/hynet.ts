// HyNet's loss (Tian et al., "HyNet: Learning Local Descriptor with Hybrid Similarity Measure and
// Triplet Loss", NeurIPS 2020), as the official training code yuruntian/HyNet train.py Loss_HyNet
// (L7-134) with is_sosr False:
//   L, R, LR and the hardest negative of each pair over the same four candidate sets as SOSNet
//   (a_i vs other positives and other anchors, p_i vs other anchors and other positives; diagonal and
//   distances <= 0.008 excluded)                                                   (L23-62)
//   hybrid distance h(d) = d + alpha d^2 / 2: for unit vectors d^2 = 2(1 - s), so h = d + alpha (1 - s),
//   the L2 distance plus alpha times the inner-product dissimilarity                   (L65)
//   triplet_i = max(0, margin + h(d_pos_i) - h(d_neg_i))                                (L65)
//   norm regulariser on the positive pairs' raw (unnormalised) descriptors:
//   gamma (|x_i| - |x_i^+|)^2 with |x| = sqrt(sum x^2 + 1e-6), gamma = 0.1                (L75-77, L120-121)
// Defaults as train.py: margin 1.2 (L309), alpha 2 (L319), gamma 0.1 (L77). The code sums over the
// batch; the paper's losses are batch means, the default here ("sum" reproduces the code; the ratio of
// the two terms is the same either way).
import * as tf from "@tensorflow/tfjs";
import { checkPairs, diagonal, FALSE_NEGATIVE_THRESHOLD, fourWayHardest, reduce, Reduction, tianMatrices } from "./patch-mining";

export interface HyNetLossOptions {
  /** Triplet margin on the hybrid distance. Default 1.2. */
  margin?: number;
  /** Weight of the inner-product part of the hybrid distance. Default 2. */
  alpha?: number;
  /** Weight of the positive-pair norm regulariser. Default 0.1. */
  gamma?: number;
  /** Distances <= this are false negatives, never mined. Default 0.008; 0 disables. */
  falseNegativeThreshold?: number;
  /** "mean" (default) or "sum" (the released training code). */
  reduction?: Reduction;
}

/**
 * HyNet loss: anchors, positives [N,D] L2-normalised; rawAnchors, rawPositives [N,D] the same
 * descriptors before normalisation (PatchDescriptorNet.forward's `raw`), for the norm regulariser.
 */
export function hynetLoss(
  anchors: tf.Tensor2D,
  positives: tf.Tensor2D,
  rawAnchors: tf.Tensor2D,
  rawPositives: tf.Tensor2D,
  opts: HyNetLossOptions = {},
): tf.Scalar {
  checkPairs("hynetLoss", anchors, positives);
  checkPairs("hynetLoss (raw descriptors)", rawAnchors, rawPositives);
  if (rawAnchors.shape[0] !== anchors.shape[0]) throw new Error(`hynetLoss: ${rawAnchors.shape[0]} raw pairs for ${anchors.shape[0]} pairs`);
  const margin = opts.margin ?? 1.2;
  const alpha = opts.alpha ?? 2;
  const gamma = opts.gamma ?? 0.1;
  const threshold = opts.falseNegativeThreshold ?? FALSE_NEGATIVE_THRESHOLD;
  const reduction = opts.reduction ?? "mean";
  return tf.tidy(() => {
    const t = tianMatrices(anchors, positives, threshold);
    const hybrid = (d: tf.Tensor1D) => tf.add(d, tf.mul(tf.square(d), alpha / 2));
    const pos = diagonal(t.LR);
    const neg = fourWayHardest(t);
    const triplet = tf.relu(tf.sub(tf.add(hybrid(pos), margin), hybrid(neg))) as tf.Tensor1D;
    const norm = (x: tf.Tensor2D) => tf.sqrt(tf.add(tf.sum(tf.square(x), 1), 1e-6));
    const normDiff = tf.square(tf.sub(norm(rawAnchors), norm(rawPositives))) as tf.Tensor1D;
    return tf.add(reduce(triplet, reduction), tf.mul(reduce(normDiff, reduction), gamma)) as tf.Scalar;
  });
}
