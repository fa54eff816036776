// Keypoint pseudo-labels by homographic adaptation (SuperPoint, sec. 5) of a
// classical detector, standing in for the pretrained detector whose labels
// SAMFeat's release trains on (not available here).
//
// Detector: Harris (cv.cornerHarris, blockSize 3, Sobel aperture 3, k = 0.04)
// on the grey image in [0,1]. Chosen because it is a dense, continuous response
// straight from OpenCV: it warps bilinearly and averages over views as it is,
// where FAST or GFTT give scores only at detected points (a sparse, thresholded
// map whose mean over views mostly counts detections) and would need to be
// rasterised first. An odd block size keeps the window centred, so corners are
// not shifted by half a pixel.
// Score of one view: (max(R, 0) / R_ideal)^(1/4), where R_ideal is the Harris
// response at an ideal black/white right-angle corner with the same parameters.
// The fourth root makes the score linear in local contrast (R grows as
// contrast^4), so an ideal corner scores about 1, a corner of half the contrast
// about 0.5, and the mean over views is not dominated by one high-contrast view.
//
// Views: the image itself plus N warped copies. The homographies come from
// lib/geometry/sampler without artifacts, and each view is the sampled patch
// stretched over the whole frame (SuperPoint's convention: view pixel q shows
// source pixel H q), so no view contains black fill and its response has no
// spurious corners along a fill boundary. Each view's response is sampled back
// at every original pixel p (bilinear at H^-1 p); pixels that fall within
// `viewMargin` of a view's border are not seen by that view. The aggregate is
// the mean over the views that see each pixel (the image itself sees all of
// them). Then SuperPoint's detection: threshold, greedy NMS, border, top-k
// (lib/eval/keypoints.ts).
//
// Deterministic: the homographies come from a Rng seeded with `seed`, every step
// is a fixed sequence of float operations, and ties break in raster order.
import type { RgbImage } from "../data/image";
import { detectKeypoints } from "../eval/keypoints";
import { loadOpenCv, OpenCv } from "../eval/opencv";
import { Homography, invert } from "../geometry/homography";
import { Rng } from "../geometry/random";
import { HomographySamplerOptions, sampleHomography } from "../geometry/sampler";
import { warpRaster } from "../geometry/warp";

export interface HarrisOptions {
  /** neighbourhood of the structure tensor (odd, so the window is centred) */
  blockSize: number;
  /** Sobel aperture */
  ksize: number;
  /** Harris' k in det - k trace^2 */
  k: number;
}

export interface HomographicAdaptationOptions {
  harris: HarrisOptions;
  /** number of warped views besides the image itself (0: the plain detector) */
  homographies: number;
  /** seed of the homography sampler; the same seed gives the same homographies */
  seed: number;
  /** sampler settings, merged over lib/geometry/sampler's defaults */
  sampler: Partial<HomographySamplerOptions>;
  /** pixels this close to a warped view's border are not counted as seen by it */
  viewMargin: number;
  /** keep points whose aggregated score is >= threshold */
  threshold: number;
  nmsRadius: number;
  border: number;
  /** keep at most this many points */
  topK: number;
}

/**
 * Mild homographies without artifacts: a centred patch of 0.8 of the image, corners moved by at most
 * 0.1 of the image, scaled by 0.8-1.2 about its centre, translated within the image, rotated by up to
 * 15 degrees (each step only among candidates that keep the patch inside the image). Views are then
 * zoomed in by about 1.0-1.6x.
 */
export const HA_SAMPLER: Partial<HomographySamplerOptions> = {
  patchRatio: 0.8,
  perspectiveX: 0.1,
  perspectiveY: 0.1,
  scaleSamples: 5,
  scaleLow: 0.8,
  scaleHigh: 1.2,
  translationOverflow: 0,
  rotationSamples: 25,
  maxAngle: Math.PI / 12,
  perspective: true,
  scaling: true,
  translation: true,
  rotation: true,
  allowArtifacts: false,
};

export const HA_DEFAULTS: HomographicAdaptationOptions = {
  harris: { blockSize: 3, ksize: 3, k: 0.04 },
  homographies: 32,
  seed: 0,
  sampler: HA_SAMPLER,
  viewMargin: 3,
  threshold: 0.07,
  nmsRadius: 4,
  border: 4,
  topK: 600,
};

export interface KeypointLabels {
  width: number;
  height: number;
  /** [N,2] (x, y) integer pixel positions, sorted by decreasing score */
  points: Float32Array;
  /** [N] aggregated scores */
  scores: Float32Array;
}

/** What produced a set of labels; part of every cache key. */
export interface LabelerIdentity {
  /** "homographic-harris" */
  name: string;
  /** bumped whenever the algorithm changes its output for the same parameters */
  version: number;
  /** every parameter the output depends on (JSON-serialisable) */
  params: Record<string, unknown>;
}

export interface Labeler {
  readonly identity: LabelerIdentity;
  label(image: RgbImage): Promise<KeypointLabels>;
}

export const LABELER_VERSION = 1;

/** Merge partial options (nested harris/sampler merged field by field). */
export function resolveOptions(opts: Partial<HomographicAdaptationOptions> = {}): HomographicAdaptationOptions {
  return {
    ...HA_DEFAULTS,
    ...opts,
    harris: { ...HA_DEFAULTS.harris, ...opts.harris },
    sampler: { ...HA_DEFAULTS.sampler, ...opts.sampler },
  };
}

/** Grey in [0,1] (BT.601 luma, unrounded), [H,W]. */
export function greyFloat(img: RgbImage): Float32Array {
  const n = img.width * img.height;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = (0.299 * img.data[3 * i] + 0.587 * img.data[3 * i + 1] + 0.114 * img.data[3 * i + 2]) / 255;
  }
  return out;
}

function rawHarris(cv: OpenCv, grey: Float32Array, width: number, height: number, h: HarrisOptions): Float32Array {
  const src = new cv.Mat(height, width, cv.CV_32FC1);
  const dst = new cv.Mat();
  try {
    src.data32F.set(grey);
    cv.cornerHarris(src, dst, h.blockSize, h.ksize, h.k, cv.BORDER_REFLECT_101);
    return Float32Array.from(dst.data32F as Float32Array);
  } finally {
    src.delete();
    dst.delete();
  }
}

const idealCache = new Map<string, number>();

/** The Harris response at an ideal black/white right-angle corner (the score unit). */
export function idealCornerResponse(cv: OpenCv, h: HarrisOptions): number {
  const key = `${h.blockSize}/${h.ksize}/${h.k}`;
  let v = idealCache.get(key);
  if (v === undefined) {
    const n = 32;
    const img = new Float32Array(n * n);
    for (let y = n / 2; y < n; y++) for (let x = n / 2; x < n; x++) img[y * n + x] = 1;
    v = Math.max(...rawHarris(cv, img, n, n, h));
    idealCache.set(key, v);
  }
  return v;
}

/** One view's score map: (max(R,0) / R_ideal)^(1/4), [H,W]. */
export function harrisScore(cv: OpenCv, grey: Float32Array, width: number, height: number, h: HarrisOptions): Float32Array {
  const r = rawHarris(cv, grey, width, height, h);
  const unit = idealCornerResponse(cv, h);
  for (let i = 0; i < r.length; i++) r[i] = r[i] > 0 ? Math.sqrt(Math.sqrt(r[i] / unit)) : 0;
  return r;
}

/**
 * The N view homographies for a width x height image: each maps source pixels to view pixels
 * (H^-1 of the sampled patch homography, so the view is the patch stretched over the frame).
 */
export function viewHomographies(width: number, height: number, opts: Partial<HomographicAdaptationOptions> = {}): Homography[] {
  const o = resolveOptions(opts);
  const rng = new Rng(o.seed);
  const out: Homography[] = [];
  for (let i = 0; i < o.homographies; i++) out.push(invert(sampleHomography(width, height, rng, o.sampler)));
  return out;
}

export interface AggregatedResponse {
  width: number;
  height: number;
  /** [H,W] mean score over the views that see each pixel */
  map: Float32Array;
  /** [H,W] number of views that see each pixel (1 + up to N) */
  count: Uint16Array;
}

/** The dense aggregated detector response (before NMS). */
export function aggregateResponse(cv: OpenCv, image: RgbImage, opts: Partial<HomographicAdaptationOptions> = {}): AggregatedResponse {
  const o = resolveOptions(opts);
  const { width: W, height: H } = image;
  const grey = greyFloat(image);
  const sum = Float64Array.from(harrisScore(cv, grey, W, H, o.harris));
  const count = new Uint16Array(W * H).fill(1);
  const m = o.viewMargin;
  for (const g of viewHomographies(W, H, o)) {
    // View: pixel q shows the source at g^-1 q (bilinear). Every pre-image lies inside the source
    // (no artifacts), so the view has no fill.
    const view = warpRaster({ width: W, height: H, channels: 1, data: grey }, g).data;
    const s = harrisScore(cv, view, W, H, o.harris);
    // Back to the source frame: pixel p reads the view's score at g p.
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const w = g[6] * x + g[7] * y + g[8];
        const u = (g[0] * x + g[1] * y + g[2]) / w;
        const v = (g[3] * x + g[4] * y + g[5]) / w;
        if (!(u >= m && v >= m && u <= W - 1 - m && v <= H - 1 - m)) continue;
        const x0 = Math.min(Math.floor(u), W - 2), y0 = Math.min(Math.floor(v), H - 2);
        const fx = u - x0, fy = v - y0;
        const i = y0 * W + x0;
        const val = (1 - fy) * ((1 - fx) * s[i] + fx * s[i + 1]) + fy * ((1 - fx) * s[i + W] + fx * s[i + W + 1]);
        const p = y * W + x;
        sum[p] += val;
        count[p]++;
      }
    }
  }
  const map = new Float32Array(W * H);
  for (let p = 0; p < map.length; p++) map[p] = sum[p] / count[p];
  return { width: W, height: H, map, count };
}

/** Threshold, NMS, border and top-k of a dense map, as labels sorted by score. */
export function labelsFromMap(map: Float32Array, width: number, height: number, opts: Partial<HomographicAdaptationOptions> = {}): KeypointLabels {
  const o = resolveOptions(opts);
  const d = detectKeypoints(map, width, height, { threshold: o.threshold, nmsRadius: o.nmsRadius, border: o.border, topK: o.topK });
  return { width, height, points: d.keypoints, scores: d.scores };
}

/** Keypoint labels of one RGB image by homographic adaptation of Harris (see the module comment). */
export function homographicAdaptation(cv: OpenCv, image: RgbImage, opts: Partial<HomographicAdaptationOptions> = {}): KeypointLabels {
  if (image.width < 8 || image.height < 8) throw new Error(`image is ${image.width}x${image.height}, labels need at least 8x8`);
  const agg = aggregateResponse(cv, image, opts);
  return labelsFromMap(agg.map, agg.width, agg.height, opts);
}

/** The identity of a labeler with these options (every parameter the labels depend on). */
export function labelerIdentity(opts: Partial<HomographicAdaptationOptions> = {}): LabelerIdentity {
  const o = resolveOptions(opts);
  return { name: "homographic-harris", version: LABELER_VERSION, params: { ...o } as unknown as Record<string, unknown> };
}

/** A Labeler (OpenCV loaded once). */
export async function createHomographicLabeler(opts: Partial<HomographicAdaptationOptions> = {}): Promise<Labeler> {
  const o = resolveOptions(opts);
  const cv = await loadOpenCv();
  return {
    identity: labelerIdentity(o),
    async label(image: RgbImage) {
      return homographicAdaptation(cv, image, o);
    },
  };
}
