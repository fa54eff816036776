// Patch-descriptor scores on the held-out set (lib/desdis/held-out.ts), from the metrics of
// lib/eval/patch-metrics.ts, with L2 distances between the unit descriptors:
//   fpr95          FPR at 95% recall over the verification pairs (UBC PhotoTour's protocol)
//   verification   AP of the verification pairs ranked by distance (HPatches verification, one
//                  list mixing same-sequence and other-sequence negatives)
//   matching       per sequence and image k: each reference patch's nearest patch of image k; AP of
//                  those matches ranked by distance, every reference counting as a positive to find
//                  (HPatches matching); the mean over (sequence, k)
//   retrieval      per reference patch: all non-reference patches of every sequence ranked by
//                  distance, its own class's patches the positives (HPatches retrieval); the mean
// All APs are the HPatches benchmark's (hpatchesAveragePrecision).
import * as tf from "@tensorflow/tfjs";
import { fprAt95Recall, hpatchesAveragePrecision } from "../eval/patch-metrics";
import { DESCRIPTOR_DIM, PATCH_SIZE, PatchDescriptorNet } from "../models/patch-descriptors";
import type { HeldOutSet } from "./held-out";

const PIXELS = PATCH_SIZE * PATCH_SIZE;

/** Patches per forward pass when describing many. */
export const DESCRIBE_CHUNK = 256;

/**
 * Descriptors [N,128] of N patches ([N,32,32] grey 0..255, any numeric array), in evaluation mode,
 * fed to the network in [0,1].
 */
export function describePatches(net: PatchDescriptorNet, patches: ArrayLike<number>, chunk = DESCRIBE_CHUNK): Float32Array {
  const n = patches.length / PIXELS;
  if (!Number.isInteger(n)) throw new Error(`describePatches: ${patches.length} values is not a whole number of 32x32 patches`);
  const out = new Float32Array(n * DESCRIPTOR_DIM);
  for (let i = 0; i < n; i += chunk) {
    const m = Math.min(chunk, n - i);
    const x = new Float32Array(m * PIXELS);
    for (let j = 0; j < m * PIXELS; j++) x[j] = patches[i * PIXELS + j] / 255;
    const d = tf.tidy(() => net.apply(tf.tensor4d(x, [m, PATCH_SIZE, PATCH_SIZE, 1]), false));
    out.set(d.dataSync() as Float32Array, i * DESCRIPTOR_DIM);
    d.dispose();
  }
  return out;
}

function distance(desc: Float32Array, i: number, j: number): number {
  let s = 0;
  for (let k = 0; k < DESCRIPTOR_DIM; k++) s += (desc[i * DESCRIPTOR_DIM + k] - desc[j * DESCRIPTOR_DIM + k]) ** 2;
  return Math.sqrt(s);
}

export interface PatchScores {
  fpr95: number;
  verification: number;
  matching: number;
  retrieval: number;
  /** Patches and verification pairs scored. */
  patches: number;
  pairs: number;
}

/** Every score of the held-out set from its descriptors [M,128] (describePatches of set.patches). */
export function scoreHeldOut(set: HeldOutSet, desc: Float32Array): PatchScores {
  const p = set.labels.length;
  const dist = new Float64Array(p);
  for (let i = 0; i < p; i++) dist[i] = distance(desc, set.pairs[2 * i], set.pairs[2 * i + 1]);
  const fpr95 = fprAt95Recall(dist, set.labels);
  const verification = hpatchesAveragePrecision(Array.from(dist, (d) => -d), set.labels);

  // Matching: per (sequence, image k > 1).
  const m = set.sequence.length;
  const refOf = new Map<number, number>(); // class -> reference patch
  for (let i = 0; i < m; i++) if (set.image[i] === 1) refOf.set(set.cls[i], i);
  const groups = new Map<string, number[]>();
  for (let i = 0; i < m; i++) {
    if (set.image[i] === 1) continue;
    const key = `${set.sequence[i]}/${set.image[i]}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(i);
  }
  let matchingSum = 0;
  for (const targets of groups.values()) {
    const scores: number[] = [];
    const labels: number[] = [];
    for (const t of targets) {
      const q = refOf.get(set.cls[t])!;
      let best = -1, bestD = Infinity;
      for (const c of targets) {
        const d = distance(desc, q, c);
        if (d < bestD) [best, bestD] = [c, d];
      }
      scores.push(-bestD);
      labels.push(set.cls[best] === set.cls[q] ? 1 : 0);
    }
    matchingSum += hpatchesAveragePrecision(scores, labels, { numPositives: targets.length });
  }
  const matching = matchingSum / Math.max(1, groups.size);

  // Retrieval: every reference against every non-reference patch.
  const pool: number[] = [];
  for (let i = 0; i < m; i++) if (set.image[i] !== 1) pool.push(i);
  let retrievalSum = 0;
  for (const q of refOf.values()) {
    const scores = pool.map((c) => -distance(desc, q, c));
    const labels = pool.map((c) => (set.cls[c] === set.cls[q] ? 1 : 0));
    retrievalSum += hpatchesAveragePrecision(scores, labels);
  }
  const retrieval = retrievalSum / Math.max(1, refOf.size);
  return { fpr95, verification, matching, retrieval, patches: m, pairs: p };
}

/** Describe the held-out patches with `net` and score them. */
export function evaluateHeldOut(net: PatchDescriptorNet, set: HeldOutSet): PatchScores {
  return scoreHeldOut(set, describePatches(net, set.patches));
}
