// SOSNet's loss (Tian et al., "SOSNet: Second Order Similarity Regularization for Local Descriptor
// Learning", CVPR 2019): a first-order triplet term plus the second-order similarity regulariser.
// The SOSNet repository (yuruntian/SOSNet) holds only the model; its training code is the Loss_SOSNet
// class of yuruntian/HyNet train.py (L136-238), which this follows:
//   L = D(a,a), R = D(p,p), LR = D(a,p), D(x,y) = sqrt(|2(1 - x.y)| + 1e-6)      (utils.py L12-17)
//   mining copies: diagonal +2, then entries <= 0.008 +2                         (L150-167)
//   neg_i = min(LR[i,j*], L[i,j*], LR[k*,i], R[k*,i]) over the hardest of each     (L179-181)
//   FOS_i = max(0, margin + LR[i,i] - neg_i)^2                                     (L182-185)
//   A = symmetrised union of the k nearest neighbours in L (rows), R (columns), LR (rows and
//       columns), without the diagonal                                            (L196-222)
//   SOS_i = sqrt(sum_j ((L[i,j] - R[i,j]) A[i,j])^2 + 1e-6)                        (L224-225)
// The paper's neighbour set is c_i = {j : x_j in KNN(x_i) or x_j+ in KNN(x_i+)} (L and R only); the code
// also adds the k nearest across the two sets (LR rows and columns). The default follows the code;
// neighbours: "paper" drops the LR part.
// The code sums both terms over the batch; the paper averages them (L_FOS = 1/N sum, L_SOS = 1/N sum,
// L_T = L_FOS + L_SOS), which is the default here ("sum" reproduces the code). The paper's margin is
// t = 1 (default here; train.py's single --margin default 1.2 is HyNet's), K = 8 (train.py knn_sos=8).
// Inputs must be L2-normalised: the distance formula assumes unit vectors.
import * as tf from "@tensorflow/tfjs";
import { checkPairs, constant, diagonal, FALSE_NEGATIVE_THRESHOLD, fourWayHardest, reduce, Reduction, rowKnnMask, TianMatrices, tianMatrices } from "./patch-mining";

export interface SosNetLossOptions {
  /** First-order triplet margin. Default 1 (paper). */
  margin?: number;
  /** Neighbours per descriptor in the second-order term. Default 8. */
  knn?: number;
  /** Weight of the second-order term. Default 1. */
  sosWeight?: number;
  /** Distances <= this are false negatives, never mined. Default 0.008; 0 disables (distances are >= 1e-3). */
  falseNegativeThreshold?: number;
  /** "mean" (paper, default) or "sum" (the released training code). */
  reduction?: Reduction;
  /** Neighbour set of the second-order term: "code" (L, R and LR, default) or "paper" (L and R). */
  neighbours?: "code" | "paper";
}

/** The second-order similarity regulariser alone: per-pair values [N] (before reduction). */
export function sosTerms(
  anchors: tf.Tensor2D,
  positives: tf.Tensor2D,
  knn = 8,
  threshold = FALSE_NEGATIVE_THRESHOLD,
  neighbours: "code" | "paper" = "code",
): tf.Tensor1D {
  checkPairs("sosTerms", anchors, positives);
  return tf.tidy(() => {
    const t = tianMatrices(anchors, positives, threshold);
    return sosFromMatrices(t, knn, neighbours === "code");
  });
}

function sosFromMatrices({ L, R, Lm, Rm, LRm }: TianMatrices, knn: number, crossNeighbours: boolean): tf.Tensor1D {
  // The neighbourhood mask is a constant (no gradient flows through the selection, as in the code).
  const a = constant((masked) => {
    const [lm, rm, lrm] = tf.unstack(masked) as tf.Tensor2D[];
    const n = lm.shape[0];
    const t = (x: tf.Tensor2D) => tf.transpose(x) as tf.Tensor2D;
    const sym = (x: tf.Tensor2D) => tf.add(x, t(x));
    const aL = sym(rowKnnMask(lm, knn)); // A_L[i, knn_row(L)]
    const aR = sym(t(rowKnnMask(t(rm), knn))); // A_R[knn_col(R), j]
    const parts = [aL, aR];
    if (crossNeighbours) parts.push(sym(tf.add(rowKnnMask(lrm, knn), t(rowKnnMask(t(lrm), knn))))); // rows and columns of LR
    const any = tf.cast(tf.greater(tf.addN(parts), 0), "float32");
    return tf.mul(any, tf.sub(1, tf.eye(n)));
  }, tf.stack([Lm, Rm, LRm]));
  const diff = tf.mul(tf.sub(L, R), a);
  return tf.sqrt(tf.add(tf.sum(tf.square(diff), 1), 1e-6)) as tf.Tensor1D;
}

/** SOSNet loss of N matching pairs, anchors and positives [N,D] L2-normalised. */
export function sosnetLoss(anchors: tf.Tensor2D, positives: tf.Tensor2D, opts: SosNetLossOptions = {}): tf.Scalar {
  checkPairs("sosnetLoss", anchors, positives);
  const margin = opts.margin ?? 1;
  const knn = opts.knn ?? 8;
  if (!Number.isInteger(knn) || knn < 1) throw new Error(`sosnetLoss: knn must be a positive integer, got ${knn}`);
  const threshold = opts.falseNegativeThreshold ?? FALSE_NEGATIVE_THRESHOLD;
  const reduction = opts.reduction ?? "mean";
  return tf.tidy(() => {
    const t = tianMatrices(anchors, positives, threshold);
    const pos = diagonal(t.LR);
    const fos = tf.square(tf.relu(tf.sub(tf.add(pos, margin), fourWayHardest(t)))) as tf.Tensor1D;
    const sos = sosFromMatrices(t, knn, (opts.neighbours ?? "code") === "code");
    return tf.add(reduce(fos, reduction), tf.mul(reduce(sos, reduction), opts.sosWeight ?? 1)) as tf.Scalar;
  });
}
