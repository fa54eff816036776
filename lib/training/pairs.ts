// One training pair, as the release builds its "synthetic" pairs (method.md A.5), from one image,
// its teacher targets and its keypoint pseudo-labels:
//   - a random crop of side `size`, its origin on the stride-8 grid, so the teacher's stride-8
//     embedding is cut cell for cell (no resampling);
//   - the second view: with probability `identityProbability` an exact copy, otherwise the crop
//     warped by a random homography H from the SuperPoint-style sampler;
//   - photometric augmentation of each view, each with probability `photometricProbability`;
//   - correspondences on a jittered grid of the first view mapped by H, with `valid` (inside the
//     second view) and the not-search mask of the release: j is no negative for i when their
//     second-view positions lie within `notSearchRadius` px, or when j is not valid;
//   - keypoint maps: the pseudo-label points in each view rounded to the nearest pixel;
//   - teacher targets: the first view always has them; a warped second view has none (flag 0, the
//     release's choice) unless `warpTeacher` warps them by H too (an extension, flag 1).
// Everything is drawn from the generator it is given, so a pair is a pure function of its seed.
import type { RgbImage } from "../data/image";
import { applyToPoint, Homography, IDENTITY, invert, warpPoints } from "../geometry/homography";
import { photometricAugment, PhotometricOptions } from "../geometry/photometric";
import { Rng } from "../geometry/random";
import { HomographySamplerOptions, sampleHomography } from "../geometry/sampler";
import { warpImage, warpRaster } from "../geometry/warp";
import type { TeacherOutput } from "../teachers/teacher";

/** Stride of the teacher embedding and of the crop origins. */
export const GRID_STRIDE = 8;

export interface PairOptions {
  /** Crop side in pixels, a multiple of 8. */
  size: number;
  /** The correspondence grid has pointsPerSide^2 cells over the crop, one jittered point per cell. */
  pointsPerSide: number;
  identityProbability: number;
  photometricProbability: number;
  notSearchRadius: number;
  /** Warp the teacher targets into a warped second view (extension) instead of flagging it 0 (release). */
  warpTeacher: boolean;
  sampler: Partial<HomographySamplerOptions>;
  photometric: Partial<PhotometricOptions>;
}

export const PAIR_DEFAULTS: PairOptions = {
  size: 192,
  pointsPerSide: 16,
  identityProbability: 0.5,
  photometricProbability: 0.5,
  notSearchRadius: 16,
  warpTeacher: false,
  sampler: {},
  photometric: {},
};

/** What a pair is made from: an image with its teacher targets and keypoint pseudo-labels. */
export interface PairSource {
  image: RgbImage;
  teacher: TeacherOutput;
  /** [N,2] (x, y) pseudo-label points in image pixels. */
  keypoints: Float32Array;
}

/** One view of a pair, all maps [S,S] row-major with S = size. */
export interface PairView {
  image: RgbImage;
  /** 1 at the pseudo-label pixels. */
  keypointMap: Uint8Array;
  /** 1 where the detector loss applies (the warp-validity mask). */
  pointMask: Uint8Array;
  /** [n,2] (x, y) of the correspondences in this view. */
  points: Float32Array;
  /** [n] teacher group label at each point, -1 where invalid. */
  categories: Int32Array;
  /** Whether the teacher targets below are aligned with this view. */
  teacherFlag: boolean;
  /** [S/8,S/8,C] (zeros when the flag is off). */
  embedding: Float32Array;
  embeddingChannels: number;
  /** [S,S] in [0,1] (zeros when the flag is off). */
  edges: Float32Array;
}

export interface TrainingPair {
  size: number;
  views: [PairView, PairView];
  /** first-view pixel -> second-view pixel */
  homography: Homography;
  /** [n] 1 where correspondence i lies inside both views. */
  valid: Uint8Array;
  /** [n,n] 1 where j is no negative for i. */
  notSearch: Uint8Array;
}

/** The pixel index of (x, y) rounded to the nearest pixel, or -1 outside an S x S image. */
function pixelAt(x: number, y: number, size: number): number {
  const xi = Math.round(x), yi = Math.round(y);
  return xi >= 0 && yi >= 0 && xi < size && yi < size ? yi * size + xi : -1;
}

function keypointMap(points: ArrayLike<number>, size: number, mask?: Uint8Array): Uint8Array {
  const map = new Uint8Array(size * size);
  for (let i = 0; i < points.length >> 1; i++) {
    const p = pixelAt(points[2 * i], points[2 * i + 1], size);
    if (p >= 0 && (!mask || mask[p])) map[p] = 1;
  }
  return map;
}

/** The crop of a full-image teacher output: maps cut at (x0, y0), embedding cells cut at (x0/8, y0/8). */
export function cropTeacher(t: TeacherOutput, x0: number, y0: number, size: number): { groups: Int32Array; edges: Float32Array; embedding: Float32Array; channels: number } {
  const [gh, gw, C] = t.embeddingShape;
  const cells = size / GRID_STRIDE, cx = x0 / GRID_STRIDE, cy = y0 / GRID_STRIDE;
  if (cy + cells > gh || cx + cells > gw) throw new Error(`teacher grid ${gh}x${gw} does not cover the crop at (${x0}, ${y0}) of side ${size}`);
  const groups = new Int32Array(size * size);
  const edges = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    const src = (y0 + y) * t.width + x0;
    groups.set(t.groups.subarray(src, src + size), y * size);
    edges.set(t.edges.subarray(src, src + size), y * size);
  }
  const embedding = new Float32Array(cells * cells * C);
  for (let i = 0; i < cells; i++) {
    const src = ((cy + i) * gw + cx) * C;
    embedding.set(t.embedding.subarray(src, src + cells * C), i * cells * C);
  }
  return { groups, edges, embedding, channels: C };
}

/**
 * Teacher targets carried into the warped view: edges bilinearly, groups and embedding cells by their
 * nearest source pixel / cell; what falls outside the source gets label -1, edge 0, a zero embedding.
 */
function warpTeacherTargets(
  t: { groups: Int32Array; edges: Float32Array; embedding: Float32Array; channels: number },
  h: Homography,
  size: number,
): { groups: Int32Array; edges: Float32Array; embedding: Float32Array } {
  const edges = warpRaster({ width: size, height: size, channels: 1, data: t.edges }, h).data;
  const inv = invert(h);
  const groups = new Int32Array(size * size).fill(-1);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const [u, v] = applyToPoint(inv, x, y);
      const p = pixelAt(u, v, size);
      if (p >= 0) groups[y * size + x] = t.groups[p];
    }
  }
  const cells = size / GRID_STRIDE, C = t.channels;
  const embedding = new Float32Array(cells * cells * C);
  for (let i = 0; i < cells; i++) {
    for (let j = 0; j < cells; j++) {
      const [u, v] = applyToPoint(inv, j * GRID_STRIDE + GRID_STRIDE / 2, i * GRID_STRIDE + GRID_STRIDE / 2);
      const ci = Math.round((v - GRID_STRIDE / 2) / GRID_STRIDE), cj = Math.round((u - GRID_STRIDE / 2) / GRID_STRIDE);
      if (ci < 0 || cj < 0 || ci >= cells || cj >= cells) continue;
      embedding.set(t.embedding.subarray((ci * cells + cj) * C, (ci * cells + cj + 1) * C), (i * cells + j) * C);
    }
  }
  return { groups, edges, embedding };
}

function categoriesAt(groups: Int32Array, points: ArrayLike<number>, valid: Uint8Array, size: number): Int32Array {
  const out = new Int32Array(valid.length).fill(-1);
  for (let i = 0; i < valid.length; i++) {
    if (!valid[i]) continue;
    const p = pixelAt(points[2 * i], points[2 * i + 1], size);
    if (p >= 0) out[i] = groups[p];
  }
  return out;
}

/** Build one pair from `src`, every random choice drawn from `rng`. */
export function makePair(src: PairSource, rng: Rng, opts: Partial<PairOptions> = {}): TrainingPair {
  const o = { ...PAIR_DEFAULTS, ...opts };
  const S = o.size;
  const { image } = src;
  if (S % GRID_STRIDE !== 0) throw new Error(`pair size ${S} must be a multiple of ${GRID_STRIDE}`);
  if (image.width < S || image.height < S) throw new Error(`image ${image.width}x${image.height} is smaller than the ${S} px crop`);

  // Crop origin on the stride-8 grid.
  const x0 = GRID_STRIDE * rng.int(Math.floor((image.width - S) / GRID_STRIDE) + 1);
  const y0 = GRID_STRIDE * rng.int(Math.floor((image.height - S) / GRID_STRIDE) + 1);
  const crop = new Uint8Array(S * S * 3);
  for (let y = 0; y < S; y++) crop.set(image.data.subarray(((y0 + y) * image.width + x0) * 3, ((y0 + y) * image.width + x0 + S) * 3), y * S * 3);
  const view0: RgbImage = { width: S, height: S, data: crop };
  const teacher0 = cropTeacher(src.teacher, x0, y0, S);

  const identity = rng.next() < o.identityProbability;
  const H = identity ? IDENTITY.slice() : sampleHomography(S, S, rng, o.sampler);
  const warped = identity ? { image: { ...view0, data: crop.slice() }, mask: new Uint8Array(S * S).fill(1) } : warpImage(view0, H);
  const teacher1 = identity ? teacher0 : o.warpTeacher ? { ...warpTeacherTargets(teacher0, H, S), channels: teacher0.channels } : undefined;

  const augment = (img: RgbImage) => (rng.next() < o.photometricProbability ? photometricAugment(img, rng, o.photometric) : img);
  const image0 = augment(view0);
  const image1 = augment(warped.image);

  // Jittered grid: one point per cell, uniform inside it.
  const perSide = o.pointsPerSide, n = perSide * perSide, cell = S / perSide;
  const points0 = new Float32Array(2 * n);
  for (let i = 0; i < perSide; i++) {
    for (let j = 0; j < perSide; j++) {
      const k = i * perSide + j;
      points0[2 * k] = Math.min(S - 1, j * cell + rng.uniform(0, cell));
      points0[2 * k + 1] = Math.min(S - 1, i * cell + rng.uniform(0, cell));
    }
  }
  const p1 = warpPoints(H, points0);
  const points1 = Float32Array.from(p1);
  const valid = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const x = p1[2 * i], y = p1[2 * i + 1];
    valid[i] = Number.isFinite(x) && Number.isFinite(y) && x >= 0 && y >= 0 && x <= S - 1 && y <= S - 1 ? 1 : 0;
    if (!valid[i]) points1[2 * i] = points1[2 * i + 1] = 0; // never read by the losses; keeps the tensors finite
  }
  const r2 = o.notSearchRadius ** 2;
  const notSearch = new Uint8Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const dx = p1[2 * i] - p1[2 * j], dy = p1[2 * i + 1] - p1[2 * j + 1];
      notSearch[i * n + j] = !valid[j] || !(dx * dx + dy * dy > r2) ? 1 : 0;
    }
  }

  const labels0 = new Float32Array(src.keypoints.length);
  for (let i = 0; i < src.keypoints.length >> 1; i++) {
    labels0[2 * i] = src.keypoints[2 * i] - x0;
    labels0[2 * i + 1] = src.keypoints[2 * i + 1] - y0;
  }
  const cells = S / GRID_STRIDE;
  const empty = { embedding: new Float32Array(cells * cells * teacher0.channels), edges: new Float32Array(S * S) };
  const views: [PairView, PairView] = [
    {
      image: image0,
      keypointMap: keypointMap(labels0, S),
      pointMask: new Uint8Array(S * S).fill(1),
      points: points0,
      categories: categoriesAt(teacher0.groups, points0, valid, S),
      teacherFlag: true,
      embedding: teacher0.embedding,
      embeddingChannels: teacher0.channels,
      edges: teacher0.edges,
    },
    {
      image: image1,
      keypointMap: keypointMap(warpPoints(H, labels0), S, warped.mask),
      pointMask: warped.mask,
      points: points1,
      categories: teacher1 ? categoriesAt(teacher1.groups, points1, valid, S) : new Int32Array(n).fill(-1),
      teacherFlag: teacher1 !== undefined,
      embedding: teacher1?.embedding ?? empty.embedding,
      embeddingChannels: teacher0.channels,
      edges: teacher1?.edges ?? empty.edges,
    },
  ];
  return { size: S, views, homography: H, valid, notSearch };
}
