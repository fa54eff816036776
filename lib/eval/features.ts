// The feature record every method produces, and the extractor contract a
// method implements (classical baselines and trained checkpoints alike).
import type { RgbImage } from "../data/image";

export interface Features {
  /** [N,2] (x, y) in pixels of the image the method was given */
  keypoints: Float32Array;
  /** [N,D] row-major */
  descriptors: Float32Array;
  /** [N] higher is better */
  scores: Float32Array;
  /** descriptor length D */
  dim: number;
}

export interface FeatureExtractor {
  name: string;
  extract(img: RgbImage): Promise<Features> | Features;
  /** Release native or GPU resources. */
  dispose?(): void;
}

/** Keep the `k` highest-scoring features (all when k is undefined or >= N), sorted by decreasing score. */
export function topK(f: Features, k?: number): Features {
  const n = f.scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => f.scores[b] - f.scores[a]);
  const keep = k === undefined ? order : order.slice(0, Math.max(0, k));
  return selectFeatures(f, keep);
}

function selectFeatures(f: Features, idx: number[]): Features {
  const D = f.dim;
  const keypoints = new Float32Array(idx.length * 2);
  const descriptors = new Float32Array(idx.length * D);
  const scores = new Float32Array(idx.length);
  idx.forEach((j, i) => {
    keypoints[2 * i] = f.keypoints[2 * j];
    keypoints[2 * i + 1] = f.keypoints[2 * j + 1];
    descriptors.set(f.descriptors.subarray(j * D, (j + 1) * D), i * D);
    scores[i] = f.scores[j];
  });
  return { keypoints, descriptors, scores, dim: D };
}

/** Rows scaled to unit L2 norm (zero rows stay zero). */
export function l2NormalizeRows(x: Float32Array, dim: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < x.length / dim; r++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += x[r * dim + j] ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < dim; j++) out[r * dim + j] = x[r * dim + j] * inv;
  }
  return out;
}
