// A patch network as a FeatureExtractor for the MMA evaluation (`--method desdis:FILE --detector D`):
// the detector's keypoints, each described by the network from its 32x32 patch (lib/desdis/patch-cut.ts,
// upright, as the network was trained).
//   kaze               OpenCV's KAZE detector (its own descriptor unused). Support side =
//                      KAZE_MAGNIFICATION x the keypoint's size (OpenCV's size is a diameter; HPatches
//                      cuts its 65-px patches at 5x the detected radius), clamped to [16, 256] px.
//   samfeat:FILE       the keypoints of a SAMFeat checkpoint (lib/eval/samfeat-extractor.ts). They carry
//                      no scale: every support is FIXED_SUPPORT px, the middle of the training range.
// Keypoints whose support leaves the image read the nearest border pixels (no keypoint is dropped, so
// the detector's own keypoint set is what is compared).
import * as fs from "node:fs";
import * as path from "node:path";
import { RgbImage, rgbToGrey } from "../data/image";
import type { FeatureExtractor, Features } from "../eval/features";
import { loadOpenCv, OpenCv } from "../eval/opencv";
import { loadSamFeatExtractor } from "../eval/samfeat-extractor";
import { DESCRIPTOR_DIM, PATCH_SIZE, PatchDescriptorNet } from "../models/patch-descriptors";
import { loadPatchNetwork } from "./load-network";
import { cutPatch, greyFloat } from "./patch-cut";
import { describePatches } from "./patch-eval";

export const KAZE_MAGNIFICATION = 2.5;
export const FIXED_SUPPORT = 48;
export const SUPPORT_RANGE: [number, number] = [16, 256];
/** Keypoints per image when the evaluation sets no --max-keypoints (each one is a network input). */
export const DEFAULT_PATCH_KEYPOINTS = 2000;

/** Keypoints with a support side each: [N,2] (x, y), [N] support, [N] score. */
export interface ScaledKeypoints {
  keypoints: Float32Array;
  supports: Float32Array;
  scores: Float32Array;
}

export interface PatchDetector {
  name: string;
  detect(img: RgbImage, maxKeypoints: number): Promise<ScaledKeypoints> | ScaledKeypoints;
  dispose?(): void;
}

/**
 * The --detector values: "kaze" or "samfeat:FILE" (an existing file). Returns what is wrong, or
 * undefined for a usable value (a plain string, not a tagged union: notebooks compile lib/ without
 * strictNullChecks, where a union tagged by a boolean does not narrow).
 */
export function detectorProblem(value: string): string | undefined {
  if (value === "kaze") return undefined;
  if (value.startsWith("samfeat:")) {
    const file = value.slice("samfeat:".length);
    if (fs.existsSync(file) && fs.statSync(file).isFile()) return undefined;
    return `--detector ${value}: ${file}: file not found`;
  }
  return `--detector ${value}: expected kaze or samfeat:CHECKPOINT`;
}

/** Highest scores first, at most `k`. */
function strongest(k: ScaledKeypoints, max: number): ScaledKeypoints {
  const n = k.scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => k.scores[b] - k.scores[a]).slice(0, max);
  return {
    keypoints: Float32Array.from(order.flatMap((i) => [k.keypoints[2 * i], k.keypoints[2 * i + 1]])),
    supports: Float32Array.from(order.map((i) => k.supports[i])),
    scores: Float32Array.from(order.map((i) => k.scores[i])),
  };
}

async function kazeDetector(): Promise<PatchDetector> {
  const cv: OpenCv = await loadOpenCv();
  const kaze = new cv.KAZE();
  kaze.setThreshold(0.001);
  return {
    name: "kaze",
    detect(img, maxKeypoints) {
      const grey = rgbToGrey(img);
      const mat = new cv.Mat(grey.height, grey.width, cv.CV_8UC1);
      mat.data.set(grey.data);
      const kp = new cv.KeyPointVector();
      try {
        kaze.detect(mat, kp);
        const n = kp.size();
        const out: ScaledKeypoints = { keypoints: new Float32Array(2 * n), supports: new Float32Array(n), scores: new Float32Array(n) };
        for (let i = 0; i < n; i++) {
          const k = kp.get(i);
          out.keypoints[2 * i] = k.pt.x;
          out.keypoints[2 * i + 1] = k.pt.y;
          out.supports[i] = Math.min(SUPPORT_RANGE[1], Math.max(SUPPORT_RANGE[0], KAZE_MAGNIFICATION * k.size));
          out.scores[i] = k.response;
        }
        return strongest(out, maxKeypoints);
      } finally {
        mat.delete();
        kp.delete();
      }
    },
    dispose: () => kaze.delete(),
  };
}

function samfeatDetector(file: string): PatchDetector {
  const extractor = loadSamFeatExtractor(file);
  return {
    name: `samfeat-${path.basename(file)}`,
    async detect(img, maxKeypoints) {
      const f = await extractor.extract(img);
      const n = f.scores.length;
      return strongest({ keypoints: f.keypoints, supports: new Float32Array(n).fill(FIXED_SUPPORT), scores: f.scores }, maxKeypoints);
    },
    dispose: () => extractor.dispose?.(),
  };
}

export async function createPatchDetector(value: string): Promise<PatchDetector> {
  const problem = detectorProblem(value);
  if (problem !== undefined) throw new Error(problem);
  return value === "kaze" ? kazeDetector() : samfeatDetector(value.slice("samfeat:".length));
}

/** Cut every keypoint's patch of `img`: [N,32,32] grey 0..255. */
export function cutKeypointPatches(img: RgbImage, k: ScaledKeypoints): Float32Array {
  const grey = greyFloat(img);
  const n = k.scores.length;
  const out = new Float32Array(n * PATCH_SIZE * PATCH_SIZE);
  for (let i = 0; i < n; i++) cutPatch(grey, { x: k.keypoints[2 * i], y: k.keypoints[2 * i + 1], support: k.supports[i], angle: 0 }, out, i * PATCH_SIZE * PATCH_SIZE);
  return out;
}

/** Detector + patch network as a FeatureExtractor. */
export function patchExtractor(net: PatchDescriptorNet, detector: PatchDetector, name: string, maxKeypoints = DEFAULT_PATCH_KEYPOINTS): FeatureExtractor {
  return {
    name,
    async extract(img: RgbImage): Promise<Features> {
      const k = await detector.detect(img, maxKeypoints);
      const descriptors = k.scores.length > 0 ? describePatches(net, cutKeypointPatches(img, k)) : new Float32Array(0);
      return { keypoints: k.keypoints, descriptors, scores: k.scores, dim: DESCRIPTOR_DIM };
    },
    dispose() {
      net.dispose();
      detector.dispose?.();
    },
  };
}

/** `desdis:FILE` with a detector: FILE a patch checkpoint or an official desdis-<d>.safetensors. */
export async function loadPatchExtractor(file: string, detectorValue: string, maxKeypoints?: number): Promise<FeatureExtractor> {
  const { net } = loadPatchNetwork(file);
  let detector: PatchDetector;
  try {
    detector = await createPatchDetector(detectorValue);
  } catch (e) {
    net.dispose();
    throw e;
  }
  return patchExtractor(net, detector, `desdis-${path.basename(file, path.extname(file))}+${detector.name}`, maxKeypoints);
}
