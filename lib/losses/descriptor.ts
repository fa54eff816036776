// des: MTLDesc's attention-weighted hardest-negative triplet (AttentionWeightedTripletLoss(T=14) in
// the release, utils/utils.py L456-490; sampling in trainers/SAMFeat_trainer.py L141-145; method.md A.3):
//   d_i^k = normalize(desc_k(p_i^k)),  w_i^k = att_k(p_i^k)   (bilinear, border padding)
//   x_i^k = w_i^k · d_i^k
//   D(a,b) = sqrt(max(|a|² - 2a·b + |b|², 1e-5))
//   pos_i = D(x_i^0, x_i^1);   neg_i = min_j [D(x_i^0, x_j^1) + 10·N_ij]
//   ℓ_i = relu(1 + pos_i - neg_i)
//   a_i = valid_i·exp(w_i^0/T) / max(Σ_j valid_j·exp(w_j^0/T), 1e-5)
//   L_des = mean_b Σ_i a_i·ℓ_i
// As in the release the attention is NOT detached: it scales the descriptors and also sets the
// per-point weights a_i, and gradients flow through both.
import * as tf from "@tensorflow/tfjs";
import { sampleAtPoints } from "./sampling";
import type { PairOutputs, PairTargets } from "./types";

/** The sampled, attention-scaled descriptors of all 2B images. */
export interface SampledDescriptors {
  /** [2B,n,D] x = attention · normalize(descriptor) at each point. */
  x: tf.Tensor3D;
  /** [2B,n] the attention at each point. */
  w: tf.Tensor2D;
}

/** Samples descriptors and attention at targets.points (border padding) and forms x = w·d̂. */
export function sampleDescriptors(outputs: PairOutputs, targets: PairTargets): SampledDescriptors {
  return tf.tidy(() => {
    const { height: H, width: W, points } = targets;
    const f = sampleAtPoints(outputs.descriptors, points, H, W, "border"); // [2B,n,D]
    const w = sampleAtPoints(outputs.attention, points, H, W, "border"); // [2B,n,1]
    // Plain division by the norm, as the release (feature / torch.norm(feature)): no epsilon.
    const d = tf.div(f, tf.sqrt(tf.sum(tf.square(f), 2, true)));
    const x = tf.mul(d, w) as tf.Tensor3D;
    return { x, w: tf.squeeze(w, [2]) as tf.Tensor2D };
  }) as SampledDescriptors;
}

/** D(a,b) = sqrt(max(|a|² - 2a·b + |b|², 1e-5)) for a in X [B,n,D], b in Y [B,m,D]: [B,n,m]. */
export function pairwiseDistance(X: tf.Tensor3D, Y: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => {
    const xx = tf.sum(tf.square(X), 2, true); // [B,n,1]
    const yy = tf.reshape(tf.sum(tf.square(Y), 2), [Y.shape[0], 1, Y.shape[1]]); // [B,1,m]
    const xy = tf.matMul(X, Y, false, true); // [B,n,m]
    return tf.sqrt(tf.maximum(tf.add(tf.sub(xx, tf.mul(xy, 2)), yy), 1e-5)) as tf.Tensor3D;
  });
}

/** Splits a [2B,...] tensor into its first views (rows 0..B-1) and second views (rows B..2B-1). */
export function splitViews<T extends tf.Tensor>(t: T, B: number): [T, T] {
  const [a, b] = tf.split(t, [B, B], 0);
  return [a as T, b as T];
}

export interface DescriptorOptions {
  /** Temperature of the attention weights, T = 14 in the release. */
  temperature?: number;
  /** Triplet margin, 1 in the release. */
  margin?: number;
  /** Precomputed sampleDescriptors(outputs, targets), to share with the WSC loss. */
  sampled?: SampledDescriptors;
}

/**
 * min over the last axis, [B,n,m] -> [B,n], whose gradient goes to the first minimum of each row
 * through a one-hot of its argmin. tf.min's own gradient finds the minima with a broadcast Equal,
 * one of the slowest kernels of the whole training step on wasm; the two differ only on exact ties.
 */
export function rowMin(dist: tf.Tensor3D): tf.Tensor2D {
  const f = tf.customGrad((...args) => {
    const [d, save] = args as [tf.Tensor3D, tf.GradSaveFunc];
    const m = d.shape[2];
    const picked = tf.oneHot(tf.argMin(d, 2), m, 1, 0, "float32"); // [B,n,m]
    save([picked]);
    const value = tf.min(d, 2);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.mul(tf.expandDims(dy, 2), saved[0])];
    return { value, gradFunc };
  });
  return f(dist) as tf.Tensor2D;
}

export function descriptorLoss(outputs: PairOutputs, targets: PairTargets, options: DescriptorOptions = {}): tf.Scalar {
  const T = options.temperature ?? 14;
  const margin = options.margin ?? 1;
  const B = targets.pairs;
  return tf.tidy(() => {
    const { x, w } = options.sampled ?? sampleDescriptors(outputs, targets);
    const [x0, x1] = splitViews(x, B); // [B,n,D] each
    const [w0] = splitViews(w, B); // [B,n]
    // pos_i from the same formula as the matrix (the release takes the matrix diagonal).
    const pos = tf.sqrt(
      tf.maximum(tf.add(tf.sub(tf.sum(tf.square(x0), 2), tf.mul(tf.sum(tf.mul(x0, x1), 2), 2)), tf.sum(tf.square(x1), 2)), 1e-5),
    ); // [B,n]
    // The not-search mask (diagonal included) pushes the true match and its 16 px neighbours out
    // of the hardest-negative search.
    const dist = tf.add(pairwiseDistance(x0, x1), tf.mul(targets.notSearch, 10)) as tf.Tensor3D; // [B,n,n]
    const neg = rowMin(dist); // [B,n]
    const l = tf.relu(tf.add(tf.sub(pos, neg), margin)); // [B,n]
    const e = tf.mul(tf.exp(tf.div(w0, T)), targets.valid); // [B,n]
    const a = tf.div(e, tf.maximum(tf.sum(e, 1, true), 1e-5)); // [B,n]
    return tf.mean(tf.sum(tf.mul(a, l), 1)) as tf.Scalar;
  });
}
