// Pairs to tensors: B pairs become the 2B-image batch the network runs on (first views, then second
// views) and the PairTargets every loss reads (lib/losses/types.ts).
import * as tf from "@tensorflow/tfjs";
import type { PairTargets } from "../losses/types";
import { GRID_STRIDE, TrainingPair } from "./pairs";

export interface TrainingBatch {
  /** [2B,S,S,3] in [-1,1], as the release normalises (img*2/255-1). */
  images: tf.Tensor4D;
  targets: PairTargets;
}

/** Stack typed arrays of equal length into one Float32Array. */
function stack(parts: ArrayLike<number>[], each: number): Float32Array {
  const out = new Float32Array(parts.length * each);
  parts.forEach((p, i) => {
    if (p.length !== each) throw new Error(`batch: part ${i} has ${p.length} values, expected ${each}`);
    out.set(p, i * each);
  });
  return out;
}

/** The tensors of B pairs of the same size and point count. */
export function toBatch(pairs: TrainingPair[]): TrainingBatch {
  if (pairs.length === 0) throw new Error("batch: no pairs");
  const B = pairs.length, S = pairs[0].size, n = pairs[0].valid.length;
  for (const p of pairs) if (p.size !== S || p.valid.length !== n) throw new Error("batch: pairs differ in size or point count");
  const views = [...pairs.map((p) => p.views[0]), ...pairs.map((p) => p.views[1])];
  const cells = S / GRID_STRIDE;
  // Teachers with a per-image channel count (the co-membership codes) are zero-padded to the
  // largest: padding keeps every cosine.
  const C = Math.max(1, ...views.map((v) => v.embeddingChannels));
  const embedding = new Float32Array(2 * B * cells * cells * C);
  views.forEach((v, b) => {
    const c = v.embeddingChannels;
    for (let k = 0; k < cells * cells; k++) embedding.set(v.embedding.subarray(k * c, (k + 1) * c), (b * cells * cells + k) * C);
  });
  const pixels = new Float32Array(2 * B * S * S * 3);
  views.forEach((v, b) => {
    const d = v.image.data, o = b * S * S * 3;
    for (let i = 0; i < d.length; i++) pixels[o + i] = (d[i] * 2) / 255 - 1;
  });
  return {
    images: tf.tensor4d(pixels, [2 * B, S, S, 3]),
    targets: {
      pairs: B,
      height: S,
      width: S,
      keypoints: tf.tensor4d(stack(views.map((v) => v.keypointMap), S * S), [2 * B, S, S, 1]),
      pointMask: tf.tensor4d(stack(views.map((v) => v.pointMask), S * S), [2 * B, S, S, 1]),
      points: tf.tensor3d(stack(views.map((v) => v.points), 2 * n), [2 * B, n, 2]),
      valid: tf.tensor2d(stack(pairs.map((p) => p.valid), n), [B, n]),
      notSearch: tf.tensor3d(stack(pairs.map((p) => p.notSearch), n * n), [B, n, n]),
      categories: tf.tensor2d(stack(views.map((v) => v.categories), n), [2 * B, n]),
      teacherFlag: tf.tensor1d(views.map((v) => (v.teacherFlag ? 1 : 0))),
      teacherEmbedding: tf.tensor4d(embedding, [2 * B, cells, cells, C]),
      teacherEdges: tf.tensor4d(stack(views.map((v) => v.edges), S * S), [2 * B, S, S, 1]),
    },
  };
}

export function disposeBatch(batch: TrainingBatch): void {
  tf.dispose([batch.images, ...Object.values(batch.targets).filter((v): v is tf.Tensor => v instanceof tf.Tensor)]);
}
