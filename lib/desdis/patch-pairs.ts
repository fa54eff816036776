// Training batches of matching patch pairs, cut from homography pairs of the training images.
//
// A batch of `batch` pairs takes `batch / pairsPerImage` images (lib/training/schedule.ts walks a
// fresh permutation of the images every epoch). For each image, one random homography H (source ->
// view, artifact-free) makes its second view, and `pairsPerImage` of its keypoint pseudo-labels
// (lib/labels, Harris by homographic adaptation) become classes:
//   anchor   = the patch at keypoint p in the image, support = support * s (s, the class's scale,
//              log-uniform in scaleRange: Harris points carry no scale of their own),
//   positive = the patch at H(p) in the view, support * s * (local scale of H at p), cut through
//              H^-1 from the image itself (lib/desdis/patch-cut.ts),
// each then independently jittered (position, rotation, scale) and given photometric noise
// (lib/desdis/patch-augment.ts). Both supports must lie inside the image; keypoints of one image are
// at least `minSeparation` px apart, so no two pairs of a batch show the same point: every class
// occurs once per batch (the in-batch hardest-negative losses rely on it). An image with too few
// usable keypoints is filled up with uniformly drawn points (class keypoint index -1).
// Every random choice comes from seedFor(seed, step, image slot): a batch is a pure function of
// (seed, step), so a resumed run sees the batches an uninterrupted one would have.
import { applyToPoint, invert } from "../geometry/homography";
import { Rng } from "../geometry/random";
import { HomographySamplerOptions, sampleHomography } from "../geometry/sampler";
import { PATCH_SIZE } from "../models/patch-descriptors";
import { BatchSchedule } from "../training/schedule";
import { addNoise, JITTER_DEFAULTS, jitterFrame, JitterOptions, NOISE_DEFAULTS, NoiseOptions } from "./patch-augment";
import { cutPatch, GreyFloat, localScale, PatchFrame, supportInside } from "./patch-cut";

/** One training image: grey values and keypoint pseudo-labels [N,2] (x, y), best first. */
export interface PatchSource {
  file: string;
  grey: GreyFloat;
  keypoints: Float32Array;
}

export interface PatchDataOptions {
  /** Matching pairs (classes) per step. */
  batch: number;
  /** Classes cut from each image of a step; divides batch. */
  pairsPerImage: number;
  /** Support side in pixels at scale 1 (HPatches: 65). */
  support: number;
  /** Per-class scale, log-uniform in [lo, hi]. */
  scaleRange: [number, number];
  /** Keypoints of one image in a batch are at least this far apart (px). */
  minSeparation: number;
  sampler: Partial<HomographySamplerOptions>;
  jitter: JitterOptions;
  noise: NoiseOptions;
}

/** Mild, artifact-free homographies: upright patch descriptors are not rotation invariant. */
export const PATCH_SAMPLER: Partial<HomographySamplerOptions> = {
  patchRatio: 0.85,
  perspectiveX: 0.1,
  perspectiveY: 0.1,
  scaleLow: 0.8,
  scaleHigh: 1.25,
  maxAngle: (15 * Math.PI) / 180,
  allowArtifacts: false,
};

export const PATCH_DATA_DEFAULTS: PatchDataOptions = {
  batch: 128,
  pairsPerImage: 8,
  support: 65,
  scaleRange: [0.5, 1],
  minSeparation: 16,
  sampler: PATCH_SAMPLER,
  jitter: JITTER_DEFAULTS,
  noise: NOISE_DEFAULTS,
};

export interface PatchBatch {
  /** [N,32,32] grey values 0..255, the anchors and their positives (pair i: anchors[i], positives[i]). */
  anchors: Float32Array;
  positives: Float32Array;
  /** [N] image index of each class. */
  images: Int32Array;
  /** [N] index of the class's keypoint in its image's labels, -1 for a drawn point. */
  keypoints: Int32Array;
  /** [N,2] (x, y) of each class's keypoint in its image. */
  points: Float32Array;
}

const PIXELS = PATCH_SIZE * PATCH_SIZE;

/** Check the options against the sources once, naming the field. */
export function checkPatchData(o: PatchDataOptions): void {
  if (!(Number.isInteger(o.batch) && o.batch >= 2)) throw new Error(`patch data: batch ${o.batch} must be an integer >= 2 (in-batch negatives)`);
  if (!(Number.isInteger(o.pairsPerImage) && o.pairsPerImage >= 1 && o.batch % o.pairsPerImage === 0)) {
    throw new Error(`patch data: pairsPerImage ${o.pairsPerImage} must be a positive integer dividing the batch ${o.batch}`);
  }
  if (!(o.support >= 4)) throw new Error(`patch data: support ${o.support} must be >= 4 px`);
  if (!(o.scaleRange[0] > 0 && o.scaleRange[1] >= o.scaleRange[0])) throw new Error(`patch data: scaleRange [${o.scaleRange}] must be 0 < lo <= hi`);
}

/**
 * Up to `count` classes of one image: keypoints in a random order, then drawn points, each kept when
 * both supports fit and it is `minSeparation` px from those already kept. Writes classes `first`,
 * `first` + 1, ...; returns how many classes were written (fewer only for a tiny image).
 */
function fillImage(src: PatchSource, imageIndex: number, rng: Rng, o: PatchDataOptions, out: PatchBatch, first: number, count: number): number {
  const { width: W, height: H } = src.grey;
  const h = sampleHomography(W, H, rng, o.sampler);
  const hInv = invert(h);
  const nk = src.keypoints.length >> 1;
  // A random order of the keypoints (Fisher-Yates on indices).
  const order = Int32Array.from({ length: nk }, (_, i) => i);
  for (let i = nk - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const minSep2 = o.minSeparation ** 2;
  const kept: [number, number][] = [];
  const [lo, hi] = o.scaleRange;
  let written = 0;
  let candidate = 0;
  const maxTries = nk + 50 * count; // drawn points after the keypoints run out
  while (written < count && candidate < maxTries) {
    const c = candidate++;
    const fromLabels = c < nk;
    const x = fromLabels ? src.keypoints[2 * order[c]] : rng.uniform(0, W - 1);
    const y = fromLabels ? src.keypoints[2 * order[c] + 1] : rng.uniform(0, H - 1);
    if (kept.some(([a, b]) => (a - x) ** 2 + (b - y) ** 2 < minSep2)) continue;
    const support = o.support * Math.exp(rng.uniform(Math.log(lo), Math.log(hi)));
    const [px, py] = applyToPoint(h, x, y);
    const anchor = jitterFrame({ x, y, support, angle: 0 }, rng, o.jitter);
    const positive = jitterFrame({ x: px, y: py, support: support * localScale(h, x, y), angle: 0 }, rng, o.jitter);
    if (!supportInside(W, H, anchor) || !supportInside(W, H, positive, hInv)) continue;
    const i = first + written;
    cutPatch(src.grey, anchor, out.anchors, i * PIXELS);
    cutPatch(src.grey, positive, out.positives, i * PIXELS, hInv);
    addNoise(out.anchors, i * PIXELS, PIXELS, rng, o.noise);
    addNoise(out.positives, i * PIXELS, PIXELS, rng, o.noise);
    out.images[i] = imageIndex;
    out.keypoints[i] = fromLabels ? order[c] : -1;
    out.points[2 * i] = x;
    out.points[2 * i + 1] = y;
    kept.push([x, y]);
    written++;
  }
  return written;
}

/** The batches of a run: step -> PatchBatch, a pure function of (seed, step). */
export class PatchPairSchedule {
  private readonly schedule: BatchSchedule;

  constructor(readonly sources: PatchSource[], readonly options: PatchDataOptions, readonly seed: number) {
    checkPatchData(options);
    if (sources.length === 0) throw new Error("patch data: no training images");
    this.schedule = new BatchSchedule(sources.length, options.batch / options.pairsPerImage, seed);
  }

  batch(step: number): PatchBatch {
    const o = this.options;
    const n = o.batch;
    const out: PatchBatch = {
      anchors: new Float32Array(n * PIXELS),
      positives: new Float32Array(n * PIXELS),
      images: new Int32Array(n),
      keypoints: new Int32Array(n),
      points: new Float32Array(2 * n),
    };
    let filled = 0;
    for (const { image, seed } of this.schedule.step(step)) {
      const got = fillImage(this.sources[image], image, new Rng(seed), o, out, filled, o.pairsPerImage);
      if (got < o.pairsPerImage) {
        const g = this.sources[image].grey;
        throw new Error(`${this.sources[image].file}: only ${got} of ${o.pairsPerImage} patch supports fit in the ${g.width}x${g.height} image (lower --pairs-per-image or the support)`);
      }
      filled += got;
    }
    return out;
  }
}
