// Pairs to tensors, in two halves so the first can run on a worker thread: batchArrays stacks B
// pairs into the typed arrays of the 2B-image batch (first views, then second views) and the
// PairTargets every loss reads (lib/losses/types.ts); toTensors wraps them as tensors.
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../geometry/random";
import type { PairTargets } from "../losses/types";
import { GRID_STRIDE, makePair, PairOptions, TrainingPair } from "./pairs";
import type { BatchSchedule } from "./schedule";
import type { PairSources } from "./sources";

export interface TrainingBatch {
  /** [2B,S,S,3] in [-1,1], as the release normalises (img*2/255-1). */
  images: tf.Tensor4D;
  targets: PairTargets;
}

/** The batch as plain arrays (transferable between threads); shapes as in PairTargets. */
export interface BatchArrays {
  pairs: number; // B
  size: number; // S
  points: number; // n per pair
  channels: number; // teacher embedding channels C
  images: Float32Array; // [2B,S,S,3]
  keypoints: Float32Array; // [2B,S,S,1]
  pointMask: Float32Array; // [2B,S,S,1]
  pointCoords: Float32Array; // [2B,n,2]
  valid: Float32Array; // [B,n]
  notSearch: Float32Array; // [B,n,n]
  categories: Float32Array; // [2B,n]
  teacherFlag: Float32Array; // [2B]
  teacherEmbedding: Float32Array; // [2B,S/8,S/8,C]
  teacherEdges: Float32Array; // [2B,S,S,1]
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

/** The arrays of B pairs of the same size and point count. */
export function batchArrays(pairs: TrainingPair[]): BatchArrays {
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
    pairs: B,
    size: S,
    points: n,
    channels: C,
    images: pixels,
    keypoints: stack(views.map((v) => v.keypointMap), S * S),
    pointMask: stack(views.map((v) => v.pointMask), S * S),
    pointCoords: stack(views.map((v) => v.points), 2 * n),
    valid: stack(pairs.map((p) => p.valid), n),
    notSearch: stack(pairs.map((p) => p.notSearch), n * n),
    categories: stack(views.map((v) => v.categories), n),
    teacherFlag: Float32Array.from(views.map((v) => (v.teacherFlag ? 1 : 0))),
    teacherEmbedding: embedding,
    teacherEdges: stack(views.map((v) => v.edges), S * S),
  };
}

/** The arrays' buffers, to transfer them from a worker without a copy. */
export function batchBuffers(a: BatchArrays): ArrayBuffer[] {
  return Object.values(a)
    .filter((v): v is Float32Array => v instanceof Float32Array)
    .map((v) => v.buffer as ArrayBuffer);
}

export function toTensors(a: BatchArrays): TrainingBatch {
  const { pairs: B, size: S, points: n, channels: C } = a;
  const cells = S / GRID_STRIDE;
  return {
    images: tf.tensor4d(a.images, [2 * B, S, S, 3]),
    targets: {
      pairs: B,
      height: S,
      width: S,
      keypoints: tf.tensor4d(a.keypoints, [2 * B, S, S, 1]),
      pointMask: tf.tensor4d(a.pointMask, [2 * B, S, S, 1]),
      points: tf.tensor3d(a.pointCoords, [2 * B, n, 2]),
      valid: tf.tensor2d(a.valid, [B, n]),
      notSearch: tf.tensor3d(a.notSearch, [B, n, n]),
      categories: tf.tensor2d(a.categories, [2 * B, n]),
      teacherFlag: tf.tensor1d(a.teacherFlag),
      teacherEmbedding: tf.tensor4d(a.teacherEmbedding, [2 * B, cells, cells, C]),
      teacherEdges: tf.tensor4d(a.teacherEdges, [2 * B, S, S, 1]),
    },
  };
}

/** The tensors of B pairs. */
export function toBatch(pairs: TrainingPair[]): TrainingBatch {
  return toTensors(batchArrays(pairs));
}

/** The batch of training step `step`: its images from the schedule, each pair from its own seed. */
export function stepArrays(sources: PairSources, schedule: BatchSchedule, step: number, opts: Partial<PairOptions>): BatchArrays {
  return batchArrays(schedule.step(step).map(({ image, seed }) => makePair(sources.source(image), new Rng(seed), opts)));
}

export function disposeBatch(batch: TrainingBatch): void {
  tf.dispose([batch.images, ...Object.values(batch.targets).filter((v): v is tf.Tensor => v instanceof tf.Tensor)]);
}
