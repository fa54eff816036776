// HardNet's hardest-in-batch triplet margin loss (Mishchuk et al., NeurIPS 2017), as DagnyT/hardnet
// code/Losses.py loss_HardNet (L87-154) with batch_reduce 'min' and loss_type 'triplet_margin':
//   D = distance_matrix_vector(anchors, positives) + 1e-8          (L95; L5-13: sqrt(. + 1e-6))
//   entries of D + 10*I below 0.008 get +10 (false negatives, L98-103), the diagonal +10
//   neg_i = min_j D'[i,j], with anchor swap min(neg_i, min_k D'[k,i])  (L104-108)
//   loss = mean_i max(0, margin + D[i,i] - neg_i)                   (L143, L153)
// Defaults: margin 1 (HardNet.py --margin default 1.0); anchor swap on (the paper's loss and the
// released training scripts' --anchorswap True).
import * as tf from "@tensorflow/tfjs";
import { checkPairs, diagonal, FALSE_NEGATIVE_THRESHOLD, hardestNegativePairs, hardnetDistanceMatrix, hardnetMiningMatrix, pickChoice, reduce, Reduction } from "./patch-mining";

export interface HardNetLossOptions {
  /** Triplet margin on L2 distances. Default 1. */
  margin?: number;
  /** Also mine (a_k, p_i) negatives. Default true. */
  anchorSwap?: boolean;
  /** Distances below this are false negatives, never mined. Default 0.008; 0 disables. */
  falseNegativeThreshold?: number;
  /** Default "mean", as HardNet. */
  reduction?: Reduction;
}

/** HardNet loss of N matching pairs: anchors, positives [N,D] (normally L2-normalised). */
export function hardnetLoss(anchors: tf.Tensor2D, positives: tf.Tensor2D, opts: HardNetLossOptions = {}): tf.Scalar {
  checkPairs("hardnetLoss", anchors, positives);
  const margin = opts.margin ?? 1;
  const anchorSwap = opts.anchorSwap ?? true;
  const threshold = opts.falseNegativeThreshold ?? FALSE_NEGATIVE_THRESHOLD;
  return tf.tidy(() => {
    const d = hardnetDistanceMatrix(anchors, positives);
    // As the reference, the negative is read from the offset matrix: with every candidate excluded it
    // is >= 10 and the pair contributes nothing.
    const m = hardnetMiningMatrix(d, threshold);
    const neg = pickChoice(m, hardestNegativePairs(m, anchorSwap));
    const pos = diagonal(d);
    return reduce(tf.relu(tf.add(tf.sub(pos, neg), margin)) as tf.Tensor1D, opts.reduction ?? "mean");
  });
}
