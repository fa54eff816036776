// The teacher contract. A teacher turns one image into the three targets that
// SAMFeat's auxiliary losses read (method notes A.3/A.4):
//   embedding  the relation target of PSRD (L_dis): only the cosine similarity
//              between two cells matters, so any teacher whose cosines mean
//              "belongs together" can stand in for SAM's encoder;
//   groups     the label map whose labels are WSC's categories (L_wsc);
//   edges      the edge target of EAG (L_edge).
//
// Embedding grid (the same for every teacher): stride 8 of the input image,
// h = ceil(H/8), w = ceil(W/8). Cell (i,j) stands for the pixel
// (min(8i+4, H-1), min(8j+4, W-1)); the student's PSRD head is also at stride 8,
// and SAM's own 64x64 grid (stride 16 of its 1024 input) is resampled to it.
import type { RgbImage } from "../data/image";

/** Stride of the embedding grid, in input pixels. */
export const EMBEDDING_STRIDE = 8;
/** Smallest image side a teacher accepts (four embedding cells). */
export const MIN_IMAGE_SIDE = 32;

/** What produced an output; part of every cache key. */
export interface TeacherIdentity {
  /** "sam", "human", "classical". */
  name: string;
  /** Bumped whenever the algorithm changes its output for the same parameters. */
  version: number;
  /** Every parameter the output depends on (JSON-serialisable). */
  params: Record<string, unknown>;
}

export interface TeacherInput {
  image: RgbImage;
  /** Where the image came from: needed by teachers that read side files (the human annotations). */
  file?: string;
}

export interface TeacherOutput {
  /** Image size. */
  height: number;
  width: number;
  /** [h,w,C] row-major, h = ceil(H/stride), w = ceil(W/stride). */
  embedding: Float32Array;
  embeddingShape: [number, number, number];
  /** [H,W] label map, 0 = not covered by any group. */
  groups: Int32Array;
  /** [H,W] in [0,1]. */
  edges: Float32Array;
}

export interface Teacher {
  readonly identity: TeacherIdentity;
  /**
   * A digest of everything besides the pixels the output of this image depends
   * on (for example annotation files); "" when nothing. Part of the cache key.
   */
  sourceKey(input: TeacherInput): string;
  teach(input: TeacherInput): Promise<TeacherOutput>;
  /** Release native resources (ONNX sessions). */
  dispose(): Promise<void>;
}

/** Embedding grid size for an H x W image. */
export function embeddingGrid(height: number, width: number, stride = EMBEDDING_STRIDE): { h: number; w: number } {
  return { h: Math.ceil(height / stride), w: Math.ceil(width / stride) };
}

/** The input pixel (row or column) that grid cell `i` stands for. */
export function gridPixel(i: number, size: number, stride = EMBEDDING_STRIDE): number {
  return Math.min(i * stride + (stride >> 1), size - 1);
}

/** Throws, naming the file, when the image is too small for any teacher. */
export function checkTeacherInput(input: TeacherInput): void {
  const { width, height } = input.image;
  if (width < MIN_IMAGE_SIDE || height < MIN_IMAGE_SIDE) {
    throw new Error(`${input.file ?? "<image>"}: image is ${width}x${height}, teachers need at least ${MIN_IMAGE_SIDE}x${MIN_IMAGE_SIDE}`);
  }
}

/**
 * 1 where a pixel's label differs from one of its 4-neighbours, else 0: both
 * sides of every label change are marked, so boundaries are 2 pixels wide and
 * symmetric. [H,W] -> [H,W].
 */
export function labelBoundaries(labels: Int32Array, height: number, width: number): Uint8Array {
  const out = new Uint8Array(height * width);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      const l = labels[p];
      if (x + 1 < width && labels[p + 1] !== l) out[p] = out[p + 1] = 1;
      if (y + 1 < height && labels[p + width] !== l) out[p] = out[p + width] = 1;
    }
  }
  return out;
}

/** Fraction of the partitions that mark a boundary at each pixel. [K x [H,W]] -> [H,W] in [0,1]. */
export function boundaryFraction(partitions: Int32Array[], height: number, width: number): Float32Array {
  const out = new Float32Array(height * width);
  for (const labels of partitions) {
    const b = labelBoundaries(labels, height, width);
    for (let p = 0; p < b.length; p++) out[p] += b[p];
  }
  for (let p = 0; p < out.length; p++) out[p] /= partitions.length;
  return out;
}

/**
 * Co-membership code of K partitions on the embedding grid: for partition k,
 * a one-hot over the labels it shows on the grid, scaled by 1/sqrt(K); the K
 * codes concatenated. Every cell then has unit norm and
 *   cos(e_p, e_q) = (number of partitions with label_k(p) = label_k(q)) / K
 * exactly. C = sum over k of the number of distinct labels of partition k on the
 * grid, so C varies per image; zero-padding to a common C keeps every cosine.
 */
export function coMembershipEmbedding(
  partitions: Int32Array[],
  height: number,
  width: number,
  stride = EMBEDDING_STRIDE,
): { embedding: Float32Array; shape: [number, number, number] } {
  const { h, w } = embeddingGrid(height, width, stride);
  const pixels = new Int32Array(h * w);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) pixels[i * w + j] = gridPixel(i, height, stride) * width + gridPixel(j, width, stride);
  }
  // Channel of each (partition, label) pair, assigned in order of first appearance.
  const channelOf = partitions.map(() => new Map<number, number>());
  let channels = 0;
  partitions.forEach((labels, k) => {
    for (const p of pixels) {
      if (!channelOf[k].has(labels[p])) channelOf[k].set(labels[p], channels++);
    }
  });
  const value = 1 / Math.sqrt(partitions.length);
  const embedding = new Float32Array(h * w * channels);
  partitions.forEach((labels, k) => {
    for (let c = 0; c < pixels.length; c++) embedding[c * channels + channelOf[k].get(labels[pixels[c]])!] = value;
  });
  return { embedding, shape: [h, w, channels] };
}
