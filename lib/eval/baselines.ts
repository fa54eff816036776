// Classical baselines through OpenCV's wasm build, wrapped as FeatureExtractors:
//   orb   ORB (FAST + rotated BRIEF, 256 bits). Bits are unpacked to +-v, so the
//         protocol's dot-product matcher ranks exactly by Hamming distance
//         (a.b = v^2 (D - 2 hamming)). v is the power of two nearest 1/sqrt(D)
//         (1/16 for ORB: unit vectors), which keeps every dot product exact in
//         float32, so the many Hamming ties resolve the same on every backend.
//   akaze AKAZE with its binary MLDB descriptor (486 bits), unpacked the same way.
//         (This OpenCV build cannot select AKAZE's KAZE-float descriptor: the
//         DescriptorType enum is not bound, so the constructor/setter throw.)
//   kaze  KAZE detector and descriptor (64-D float, L2-normalised): the float baseline.
// Keypoints are sorted by detector response and cut to maxKeypoints.
import { RgbImage, rgbToGrey } from "../data/image";
import { FeatureExtractor, Features, l2NormalizeRows, topK } from "./features";
import { loadOpenCv, OpenCv } from "./opencv";

export interface BaselineOptions {
  /** keep at most this many keypoints (highest response first) */
  maxKeypoints: number;
  /** AKAZE / KAZE detector response threshold (OpenCV default 0.001); lower finds more points */
  kazeThreshold: number;
}

export const BASELINE_DEFAULTS: BaselineOptions = { maxKeypoints: 5000, kazeThreshold: 0.001 };

export const BASELINE_NAMES = ["orb", "akaze", "kaze"] as const;
export type BaselineName = (typeof BASELINE_NAMES)[number];

export function isBaselineName(name: string): name is BaselineName {
  return (BASELINE_NAMES as readonly string[]).includes(name);
}

function detectAndCompute(cv: OpenCv, detector: OpenCv, img: RgbImage): { kp: OpenCv; desc: OpenCv } {
  const grey = rgbToGrey(img);
  const mat = new cv.Mat(grey.height, grey.width, cv.CV_8UC1);
  mat.data.set(grey.data);
  const mask = new cv.Mat();
  const kp = new cv.KeyPointVector();
  const desc = new cv.Mat();
  try {
    detector.detectAndCompute(mat, mask, kp, desc);
  } finally {
    mat.delete();
    mask.delete();
  }
  return { kp, desc };
}

/** Descriptor bytes of the binary methods (needed to size an empty result). */
const BINARY_BYTES: Partial<Record<BaselineName, number>> = { orb: 32, akaze: 61 };

function toFeatures(cv: OpenCv, kp: OpenCv, desc: OpenCv, binaryBytes: number | undefined): Features {
  const n = kp.size();
  const keypoints = new Float32Array(2 * n);
  const scores = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const k = kp.get(i);
    keypoints[2 * i] = k.pt.x;
    keypoints[2 * i + 1] = k.pt.y;
    scores[i] = k.response;
  }
  if (n > 0 && desc.rows !== n) throw new Error(`OpenCV returned ${desc.rows} descriptors for ${n} keypoints`);
  let descriptors: Float32Array;
  let dim: number;
  if (binaryBytes !== undefined) {
    const bytes: Uint8Array = desc.data;
    const nbytes = n > 0 ? desc.cols : binaryBytes;
    dim = nbytes * 8;
    const v = 2 ** -Math.round(Math.log2(Math.sqrt(dim)));
    descriptors = new Float32Array(n * dim);
    for (let i = 0; i < n * nbytes; i++) {
      for (let b = 0; b < 8; b++) descriptors[i * 8 + b] = (bytes[i] >> b) & 1 ? v : -v;
    }
  } else {
    dim = n > 0 ? desc.cols : 64;
    if (n > 0 && desc.type() !== cv.CV_32F) throw new Error("expected float descriptors from OpenCV");
    descriptors = l2NormalizeRows(Float32Array.from(n > 0 ? (desc.data32F as Float32Array) : []), dim);
  }
  return { keypoints, descriptors, scores, dim };
}

/** A baseline extractor by name (see the module comment). */
export async function createBaseline(name: BaselineName, opts: Partial<BaselineOptions> = {}): Promise<FeatureExtractor> {
  const o = { ...BASELINE_DEFAULTS, ...opts };
  const cv = await loadOpenCv();
  let detector: OpenCv;
  if (name === "orb") detector = new cv.ORB(o.maxKeypoints);
  else if (name === "akaze") {
    detector = new cv.AKAZE();
    detector.setThreshold(o.kazeThreshold);
  } else {
    detector = new cv.KAZE();
    detector.setThreshold(o.kazeThreshold);
  }
  return {
    name,
    extract(img: RgbImage): Features {
      const { kp, desc } = detectAndCompute(cv, detector, img);
      try {
        return topK(toFeatures(cv, kp, desc, BINARY_BYTES[name]), o.maxKeypoints);
      } finally {
        kp.delete();
        desc.delete();
      }
    },
    dispose() {
      detector.delete();
    },
  };
}
