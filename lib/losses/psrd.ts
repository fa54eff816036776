// dis: pixel-wise semantic relation distillation, the release's "AF" option
// (AffinityAttentionLoss in utils/utils.py L859-900, called as sam_loss(dist_feature, sam_feature, flags,
// weight_map) in trainers/SAMFeat_trainer.py; method.md A.3):
//   S = distill (student, stride 8),  T = teacher embedding resized to S's grid,
//   A = attention resized (bilinear, half-pixel) to S's grid;  S ← S⊙A,  T ← T⊙A
//   F̂[p] = F[p] / (|F[p]|₂ + 1e-7)             per-pixel channel normalisation
//   R = F̂ F̂ᵀ  [P,P]                            cosine relation of all pixel pairs
//   L_dis = mean over flagged images of mean_{p,q} |R_S - R_T|_pq
// A is a positive per-pixel scale, so it cancels in F̂ (up to the 1e-7): the attention weighting is
// kept for parity with the release but is, in effect, plain relation distillation.
//
// Deviations from the release:
// - maxPixels: when the grid has more than maxPixels cells, the relation is computed on a fixed,
//   evenly spaced sh x sw sub-grid of cells (rows floor((k+0.5)·h/sh), likewise columns;
//   sh·sw ≤ maxPixels, aspect kept), not on all P cells. Deterministic, no RNG. The release uses
//   all 50x50 cells at a 400x400 crop; the default 1024 keeps R at 4 MB an image.
// - the norm is sqrt(max(|F|², 1e-20)) + 1e-7 instead of sqrt(|F|²) + 1e-7: the same value for any
//   non-zero feature, but a zero feature (the teacher rows of unflagged images are zero) gets a
//   zero gradient instead of 0·∞ = NaN, which the flag weight could not remove.
// - flags are weights (Σ flagged / max(#flagged, 1)) instead of indexing; no flagged image gives 0.
import * as tf from "@tensorflow/tfjs";
import { resizeBilinear } from "../models/resize";
import type { PairOutputs, PairTargets } from "./types";

export interface PsrdOptions {
  /** Largest number of grid cells in a relation matrix (default 1024); see the sub-grid above. */
  maxPixels?: number;
}

/** Evenly spaced indices floor((k + 0.5)·size/count), k < count: the centres of count equal bins. */
export function evenlySpaced(size: number, count: number): number[] {
  return Array.from({ length: count }, (_, k) => Math.floor(((k + 0.5) * size) / count));
}

/** The sub-grid size (sh, sw) with sh·sw ≤ maxPixels and about the grid's aspect ratio. */
export function subGridSize(h: number, w: number, maxPixels: number): [number, number] {
  if (h * w <= maxPixels) return [h, w];
  const scale = Math.sqrt(maxPixels / (h * w));
  const sh = Math.max(1, Math.min(h, Math.floor(h * scale)));
  const sw = Math.max(1, Math.min(w, Math.floor(maxPixels / sh)));
  return [sh, sw];
}

/** One-hot selection [count,size] of the given indices. */
function selectionMatrix(indices: number[], size: number): tf.Tensor2D {
  const m = new Float32Array(indices.length * size);
  indices.forEach((i, k) => (m[k * size + i] = 1));
  return tf.tensor2d(m, [indices.length, size]);
}

/** Picks rows `ys` and columns `xs` of t [N,h,w,C] -> [N,|ys|,|xs|,C], as one-hot matmuls (plain matMul gradients). */
function pickCells(t: tf.Tensor4D, ys: number[], xs: number[]): tf.Tensor4D {
  const [N, h, w, C] = t.shape;
  if (ys.length === h && xs.length === w) return t;
  // rows: [h, N*w*C] -> [sh, N*w*C]
  const rows = tf.matMul(selectionMatrix(ys, h), tf.reshape(tf.transpose(t, [1, 0, 2, 3]), [h, N * w * C]));
  const r4 = tf.transpose(tf.reshape(rows, [ys.length, N, w, C]), [2, 1, 0, 3]); // [w,N,sh,C]
  const cols = tf.matMul(selectionMatrix(xs, w), tf.reshape(r4, [w, N * ys.length * C])); // [sw, N*sh*C]
  return tf.transpose(tf.reshape(cols, [xs.length, N, ys.length, C]), [1, 2, 0, 3]) as tf.Tensor4D;
}

/** Cosine relation matrix of f [N,P,C]: [N,P,P]. */
function relation(f: tf.Tensor3D): tf.Tensor3D {
  const norm = tf.add(tf.sqrt(tf.maximum(tf.sum(tf.square(f), 2, true), 1e-20)), 1e-7); // [N,P,1]
  const fh = tf.div(f, norm) as tf.Tensor3D;
  return tf.matMul(fh, fh, false, true);
}

export function psrdLoss(outputs: PairOutputs, targets: PairTargets, options: PsrdOptions = {}): tf.Scalar {
  const maxPixels = options.maxPixels ?? 1024;
  if (!(maxPixels >= 1)) throw new Error(`psrdLoss: maxPixels must be at least 1, got ${maxPixels}`);
  return tf.tidy(() => {
    const student = outputs.distill; // [2B,h,w,Cs]
    const [N, h, w] = student.shape;
    // The release resizes the teacher to the student's grid; ours is usually there already (identity).
    const teacher = resizeBilinear(targets.teacherEmbedding, [h, w]); // [2B,h,w,Ct]
    const att = resizeBilinear(outputs.attention, [h, w]); // [2B,h,w,1] (s4 -> s8: a 2x2 mean)
    const [sh, sw] = subGridSize(h, w, maxPixels);
    const ys = evenlySpaced(h, sh);
    const xs = evenlySpaced(w, sw);
    const flat = (t: tf.Tensor4D) => tf.reshape(pickCells(tf.mul(t, att) as tf.Tensor4D, ys, xs), [N, sh * sw, t.shape[3]]) as tf.Tensor3D;
    const rs = relation(flat(student)); // [2B,P,P]
    const rt = relation(flat(teacher)); // [2B,P,P]
    const perImage = tf.mean(tf.abs(tf.sub(rs, rt)), [1, 2]); // [2B]
    const flag = targets.teacherFlag; // [2B]
    return tf.div(tf.sum(tf.mul(perImage, flag)), tf.maximum(tf.sum(flag), 1)) as tf.Scalar;
  });
}
