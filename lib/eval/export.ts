// D2-Net / SAMFeat-compatible feature files: <seq>/<k>.<imgext>.<tag>, an npz
// (zip of .npy, no .npz suffix) with keypoints [N,2] (x, y) float32,
// descriptors [N,D] float32, scores [N] float32, and shape / img_shape
// (H, W, 3) int64 as SAMFeat's export writes them.
import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomicSync } from "../util/atomic";
import type { Features } from "./features";
import { decodeNpz, encodeNpz } from "./npz";

export function featureFilePath(sequenceDir: string, k: number, imageExt: string, tag: string): string {
  return path.join(sequenceDir, `${k}.${imageExt}.${tag}`);
}

function encodeFeatureFile(f: Features, width: number, height: number): Uint8Array {
  const n = f.scores.length;
  const shape = { dtype: "<i8" as const, shape: [3], data: BigInt64Array.from([BigInt(height), BigInt(width), 3n]) };
  return encodeNpz({
    keypoints: { dtype: "<f4", shape: [n, 2], data: f.keypoints },
    descriptors: { dtype: "<f4", shape: [n, f.dim], data: f.descriptors },
    scores: { dtype: "<f4", shape: [n], data: f.scores },
    shape,
    img_shape: shape,
  });
}

export function writeFeatureFile(file: string, f: Features, width: number, height: number): void {
  writeFileAtomicSync(file, encodeFeatureFile(f, width, height));
}

/** Read a feature file written by this module or by numpy (float32 or float64 arrays). */
export function readFeatureFile(file: string): Features {
  const arrays = decodeNpz(fs.readFileSync(file), file);
  for (const key of ["keypoints", "descriptors", "scores"]) {
    if (!arrays[key]) throw new Error(`${file}: missing array "${key}"`);
  }
  const kp = arrays.keypoints, d = arrays.descriptors;
  const n = kp.shape[0];
  if (kp.shape.length !== 2 || kp.shape[1] < 2) throw new Error(`${file}: keypoints must be N x (>=2), got [${kp.shape}]`);
  if (d.shape.length !== 2 || d.shape[0] !== n) throw new Error(`${file}: descriptors must be ${n} x D, got [${d.shape}]`);
  const toF32 = (a: ArrayLike<number | bigint>) => Float32Array.from(a as ArrayLike<number>, Number);
  const kpAll = toF32(kp.data as ArrayLike<number>);
  const keypoints = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    keypoints[2 * i] = kpAll[i * kp.shape[1]];
    keypoints[2 * i + 1] = kpAll[i * kp.shape[1] + 1];
  }
  const scores = toF32(arrays.scores.data as ArrayLike<number>);
  if (scores.length !== n) throw new Error(`${file}: ${scores.length} scores for ${n} keypoints`);
  return { keypoints, descriptors: toF32(d.data as ArrayLike<number>), scores, dim: d.shape[1] };
}
