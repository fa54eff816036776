// wsc: weakly supervised contrastive learning on SAM's semantic groups
// (AttentionWeightedTripletLossWithSam(T=5, margin=0.07) in utils/utils.py L363-454; method.md A.3).
// Within each image k of a pair, with x = attention·normalize(desc) at the points (as for des), c_i
// the point's category (-1: none) and v_i = [c_i ≠ -1]:
//   P_ij = [c_i = c_j]·v_i·v_j   (positives, i = j included)    Q_ij = [c_i ≠ c_j]·v_i·v_j
//
// variant "release" (default): the released formula with its artefacts, for parity:
//   D_ij = D(x_i, x_j) + 10·N_ij         (N: the pair's not-search mask, reused within each image)
//   S⁺_i = Σ_j exp(-max(m·P_ij, D_ij·P_ij)/τ)   (a masked entry contributes exp(0) = 1)
//   S⁻_i = Σ_j exp(-D_ij·Q_ij/τ)                (likewise)
//   L^k = mean over images and ALL rows i (invalid ones too) of -log(S⁺_i / (S⁺_i + S⁻_i))
//   L_wsc = (L^0 + L^1)/2
// The release gates only the second views by their flags (select_flagged_tensors takes the second
// half of `flags`, L370-371), and so does this code: L^0 averages over all B first views, L^1 over the
// flagged second views (Σ flagged / max(#flagged, 1): with none flagged L^1 = 0, where the release
// would fail on an empty selection).
//
// variant "supcon": the intended supervised-contrastive form (SupCon's L_out, Khosla et al. 2020),
// without the artefacts. Plain distances D_ij (no +10·N), positives exclude self
// (P'_ij = P_ij·[i ≠ j]), masked entries excluded, a margin floor on positive distances:
//   e_ij = exp(-max(m, D_ij)/τ) for j ∈ P'_i,  exp(-D_ij/τ) for j ∈ Q_i;   Z_i = Σ_{j ∈ P'_i ∪ Q_i} e_ij
//   ℓ_i = -(1/|P'_i|) Σ_{j ∈ P'_i} log(e_ij / Z_i)
//   L_wsc = mean of ℓ_i over the anchors: valid points with |P'_i| ≥ 1, in first views and flagged
//   second views alike, pooled over both views. Unlike "release", first views are gated by their
//   flags too (the contract: teacher losses use only flagged images).
import * as tf from "@tensorflow/tfjs";
import { pairwiseDistance, sampleDescriptors, SampledDescriptors, splitViews } from "./descriptor";
import type { PairOutputs, PairTargets } from "./types";

export type WscVariant = "release" | "supcon";

export interface WscOptions {
  variant?: WscVariant;
  /** Temperature τ (the release's T2 = 5). */
  temperature?: number;
  /** Margin floor m on positive distances (0.07). */
  margin?: number;
  /** Precomputed sampleDescriptors(outputs, targets), to share with the descriptor loss. */
  sampled?: SampledDescriptors;
}

/**
 * Positive (same-category, both valid) and negative (different-category, both valid) masks: [B,n,n]
 * each, plus v [B,n]. The categories are constants, so the masks are built in JS: a broadcast
 * Equal on [B,n,n] is one of the slowest kernels of the step on wasm.
 */
function groupMasks(c: tf.Tensor2D): { P: tf.Tensor3D; Q: tf.Tensor3D; v: tf.Tensor2D } {
  const [B, n] = c.shape;
  const cat = c.dataSync();
  const P = new Float32Array(B * n * n), Q = new Float32Array(B * n * n), v = new Float32Array(B * n);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < n; i++) {
      const ci = cat[b * n + i];
      if (ci === -1) continue;
      v[b * n + i] = 1;
      for (let j = 0; j < n; j++) {
        const cj = cat[b * n + j];
        if (cj === -1) continue;
        if (ci === cj) P[(b * n + i) * n + j] = 1;
        else Q[(b * n + i) * n + j] = 1;
      }
    }
  }
  return { P: tf.tensor3d(P, [B, n, n]), Q: tf.tensor3d(Q, [B, n, n]), v: tf.tensor2d(v, [B, n]) };
}

/** Release per-image loss: mean over all rows of -log(S⁺/(S⁺+S⁻)), [B]. */
function releasePerImage(x: tf.Tensor3D, c: tf.Tensor2D, notSearch: tf.Tensor3D, tau: number, m: number): tf.Tensor1D {
  const D = tf.add(pairwiseDistance(x, x), tf.mul(notSearch, 10)); // [B,n,n]
  const { P, Q } = groupMasks(c);
  const sPos = tf.sum(tf.exp(tf.div(tf.neg(tf.maximum(tf.mul(P, m), tf.mul(D, P))), tau)), 2); // [B,n]
  const sNeg = tf.sum(tf.exp(tf.div(tf.neg(tf.mul(D, Q)), tau)), 2); // [B,n]
  return tf.mean(tf.neg(tf.log(tf.div(sPos, tf.add(sPos, sNeg)))), 1) as tf.Tensor1D;
}

/** SupCon per-anchor loss and anchor indicator, [B,n] each. */
function supconPerAnchor(x: tf.Tensor3D, c: tf.Tensor2D, tau: number, m: number): { loss: tf.Tensor2D; anchor: tf.Tensor2D } {
  const [B, n] = c.shape;
  const D = pairwiseDistance(x, x); // [B,n,n]
  const { P, Q, v } = groupMasks(c);
  const Pp = tf.mul(P, tf.sub(1, tf.eye(n))); // [B,n,n] positives without self
  const count = tf.sum(Pp, 2); // [B,n] |P'_i|
  const anchor = tf.mul(v, tf.cast(tf.greater(count, 0), "float32")) as tf.Tensor2D;
  const posLogit = tf.div(tf.neg(tf.maximum(D, m)), tau); // log e_ij on positives
  const negLogit = tf.div(tf.neg(D), tau); // log e_ij on negatives
  const Z = tf.add(tf.sum(tf.mul(Pp, tf.exp(posLogit)), 2), tf.sum(tf.mul(Q, tf.exp(negLogit)), 2)); // [B,n]
  // Non-anchors may have Z = 0: log(Z + 1) there keeps values and gradients finite (weighted by 0).
  const logZ = tf.log(tf.add(Z, tf.sub(1, anchor)));
  const meanPosLogit = tf.div(tf.sum(tf.mul(Pp, posLogit), 2), tf.maximum(count, 1)); // [B,n]
  return { loss: tf.mul(tf.sub(logZ, meanPosLogit), anchor) as tf.Tensor2D, anchor };
}

export function wscLoss(outputs: PairOutputs, targets: PairTargets, options: WscOptions = {}): tf.Scalar {
  const variant = options.variant ?? "release";
  const tau = options.temperature ?? 5;
  const m = options.margin ?? 0.07;
  const B = targets.pairs;
  return tf.tidy(() => {
    const { x } = options.sampled ?? sampleDescriptors(outputs, targets);
    const [x0, x1] = splitViews(x, B); // [B,n,D]
    const [c0, c1] = splitViews(targets.categories, B); // [B,n]
    const [f0, f1] = splitViews(targets.teacherFlag, B); // [B]
    if (variant === "release") {
      const l0 = tf.mean(releasePerImage(x0, c0, targets.notSearch, tau, m));
      const l1 = tf.div(tf.sum(tf.mul(releasePerImage(x1, c1, targets.notSearch, tau, m), f1)), tf.maximum(tf.sum(f1), 1));
      return tf.div(tf.add(l0, l1), 2) as tf.Scalar;
    }
    if (variant !== "supcon") throw new Error(`wscLoss: unknown variant "${variant}" (expected "release" or "supcon")`);
    const a = supconPerAnchor(x0, c0, tau, m);
    const b = supconPerAnchor(x1, c1, tau, m);
    const g0 = tf.reshape(f0, [B, 1]);
    const g1 = tf.reshape(f1, [B, 1]);
    const total = tf.add(tf.sum(tf.mul(a.loss, g0)), tf.sum(tf.mul(b.loss, g1)));
    const anchors = tf.add(tf.sum(tf.mul(a.anchor, g0)), tf.sum(tf.mul(b.anchor, g1)));
    return tf.div(total, tf.maximum(anchors, 1)) as tf.Scalar;
  });
}
