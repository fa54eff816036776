// SAM teacher through onnxruntime-node, from two user-supplied ONNX files in
// data/models/sam/ (see README.md there for how to obtain them):
//
//   sam_image_encoder.onnx   input  [1,3,1024,1024] float32: RGB, resized so the
//                                   longest side is 1024, normalised with SAM's
//                                   pixel mean/std, zero-padded bottom/right
//                            output [1,256,64,64] float32 image embeddings
//                            (input/output names are not fixed: the first of each is used)
//   sam_prompt_decoder.onnx  SAM's official export (scripts/export_onnx_model.py):
//                            inputs  image_embeddings [1,256,64,64], point_coords [1,N,2]
//                                    (x,y in the 1024 frame), point_labels [1,N],
//                                    mask_input [1,1,256,256], has_mask_input [1],
//                                    orig_im_size [2] (H,W), all float32
//                            outputs masks [1,M,H,W] (logits at image size),
//                                    iou_predictions [1,M], low_res_masks [1,M,256,256]
//                            M = 4 (default export: the single-mask output first,
//                            then the 3 multimask outputs) or 1 (--return-single-mask).
//
// Automatic mask generation follows SamAutomaticMaskGenerator with its defaults
// (one crop, the whole image): a 32x32 grid of single-point prompts (each with
// SAM's padding point, label -1); for each prompt the multimask outputs (or the
// single mask); keep a mask when predicted IoU > 0.88 and stability score >= 0.95,
// where stability = |logits > 0+1| / |logits > 0-1|; binarise at logit 0; box NMS
// at IoU 0.7 over the masks' bounding boxes, scored by predicted IoU.
// Outputs: embedding = the encoder grid's valid (unpadded) part resampled
// bilinearly to the stride-8 grid of the image; groups = the kept masks painted
// largest first (label 1 = largest), so the smallest covering mask wins;
// edges = boundaries of that label map (1 on both sides of a label change).
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as ort from "onnxruntime-node";
import sharp from "sharp";
import type { RgbImage } from "../data/image";
import {
  checkTeacherInput,
  EMBEDDING_STRIDE,
  embeddingGrid,
  gridPixel,
  labelBoundaries,
  Teacher,
  TeacherOutput,
} from "./teacher";

// realpath: notebooks reach lib/ through a symlink.
const PROJECT_ROOT = path.resolve(fs.realpathSync(__dirname), "..", "..");

export const SAM_MODEL_DIR = path.join(PROJECT_ROOT, "data", "models", "sam");
export const SAM_ENCODER_FILE = "sam_image_encoder.onnx";
export const SAM_DECODER_FILE = "sam_prompt_decoder.onnx";
/** SAM's input side and normalisation (segment_anything/modeling/sam.py). */
export const SAM_INPUT_SIZE = 1024;
export const SAM_PIXEL_MEAN = [123.675, 116.28, 103.53];
export const SAM_PIXEL_STD = [58.395, 57.12, 57.375];

export interface SamTeacherOptions {
  /** Folder holding the two ONNX files. */
  modelDir?: string;
  encoderFile?: string;
  decoderFile?: string;
  /** Point prompts per image side (grid of n x n). */
  pointsPerSide?: number;
  /** Keep masks whose predicted IoU is strictly above this. */
  predIouThresh?: number;
  /** Keep masks whose stability score is at least this. */
  stabilityScoreThresh?: number;
  stabilityScoreOffset?: number;
  /** Drop a mask whose box overlaps a better-scored kept box by more than this IoU. */
  boxNmsThresh?: number;
  /** Logit threshold of SAM's masks. */
  maskThreshold?: number;
  stride?: number;
  /** onnxruntime intra-op threads. */
  threads?: number;
}

export const SAM_DEFAULTS: Required<SamTeacherOptions> = {
  modelDir: SAM_MODEL_DIR,
  encoderFile: SAM_ENCODER_FILE,
  decoderFile: SAM_DECODER_FILE,
  pointsPerSide: 32,
  predIouThresh: 0.88,
  stabilityScoreThresh: 0.95,
  stabilityScoreOffset: 1.0,
  boxNmsThresh: 0.7,
  maskThreshold: 0.0,
  stride: EMBEDDING_STRIDE,
  threads: 2,
};

/** Paths of the two ONNX files; throws one message naming every missing file and how to get it. */
export function samModelFiles(opts: SamTeacherOptions = {}): { encoder: string; decoder: string } {
  const o = { ...SAM_DEFAULTS, ...opts };
  const encoder = path.resolve(o.modelDir, o.encoderFile);
  const decoder = path.resolve(o.modelDir, o.decoderFile);
  const shown = (f: string) => path.relative(process.cwd(), f) || f;
  const missing = [encoder, decoder].filter((f) => !fs.existsSync(f)).map(shown);
  if (missing.length > 0) {
    throw new Error(
      `SAM teacher: missing ${missing.join(" and ")}. Export the prompt decoder with segment-anything's ` +
        `scripts/export_onnx_model.py (--model-type vit_b|vit_l|vit_h) and the image encoder with the torch.onnx.export ` +
        `recipe in data/models/sam/README.md, and save them as ${o.encoderFile} and ${o.decoderFile} in ${shown(path.resolve(o.modelDir))}`,
    );
  }
  return { encoder, decoder };
}

/** Resized size with the longest side 1024, as SAM's ResizeLongestSide (round half up). */
export function samResizedSize(height: number, width: number): { height: number; width: number } {
  const scale = SAM_INPUT_SIZE / Math.max(height, width);
  return { height: Math.floor(height * scale + 0.5), width: Math.floor(width * scale + 0.5) };
}

/** SAM's encoder input: [1,3,1024,1024] NCHW, normalised, zero-padded bottom/right. */
export async function samPreprocess(img: RgbImage): Promise<{ input: Float32Array; resized: { height: number; width: number } }> {
  const resized = samResizedSize(img.height, img.width);
  const { data } = await sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), {
    raw: { width: img.width, height: img.height, channels: 3 },
  })
    .resize(resized.width, resized.height, { fit: "fill", kernel: "linear" })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const S = SAM_INPUT_SIZE;
  const input = new Float32Array(3 * S * S);
  for (let y = 0; y < resized.height; y++) {
    for (let x = 0; x < resized.width; x++) {
      const src = 3 * (y * resized.width + x);
      for (let c = 0; c < 3; c++) input[c * S * S + y * S + x] = (data[src + c] - SAM_PIXEL_MEAN[c]) / SAM_PIXEL_STD[c];
    }
  }
  return { input, resized };
}

/** n x n prompt points in image pixels (x,y), cell centres as SAM's build_point_grid. */
export function pointGrid(n: number, height: number, width: number): [number, number][] {
  const points: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) points.push([((j + 0.5) / n) * width, ((i + 0.5) / n) * height]);
  }
  return points;
}

/** |logits > t+offset| / |logits > t-offset| over one mask; 0 for an empty union. */
export function stabilityScore(logits: Float32Array, threshold: number, offset: number): number {
  let inter = 0;
  let union = 0;
  const hi = threshold + offset;
  const lo = threshold - offset;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i];
    if (v > hi) inter++;
    if (v > lo) union++;
  }
  return union === 0 ? 0 : inter / union;
}

/** A binary mask stored inside its inclusive bounding box [x0,y0,x1,y1]. */
export interface CroppedMask {
  box: [number, number, number, number];
  area: number;
  /** [y1-y0+1, x1-x0+1] row-major, 1 = inside; empty for an empty mask. */
  data: Uint8Array;
}

/** Binarise logits [H,W] at `threshold` (strictly above), keeping only the bounding box. An empty mask has box [0,0,0,0], as SAM's. */
export function cropMask(logits: Float32Array, height: number, width: number, threshold: number): CroppedMask {
  let x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      if (logits[row + x] > threshold) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        y1 = y;
      }
    }
  }
  if (x1 < 0) return { box: [0, 0, 0, 0], area: 0, data: new Uint8Array(0) };
  const w = x1 - x0 + 1;
  const data = new Uint8Array((y1 - y0 + 1) * w);
  let area = 0;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      if (logits[y * width + x] > threshold) {
        data[(y - y0) * w + x - x0] = 1;
        area++;
      }
    }
  }
  return { box: [x0, y0, x1, y1], area, data };
}

/** IoU of two boxes with areas (x1-x0)*(y1-y0), as torchvision's box_iou. */
export function boxIou(a: number[], b: number[]): number {
  const area = (r: number[]) => (r[2] - r[0]) * (r[3] - r[1]);
  const iw = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const ih = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = iw * ih;
  const union = area(a) + area(b) - inter;
  return union > 0 ? inter / union : 0;
}

/** Greedy NMS: indices kept, best score first; a box is dropped when its IoU with a kept one exceeds `thresh`. */
export function boxNms(boxes: number[][], scores: number[], thresh: number): number[] {
  const order = scores.map((_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
  const kept: number[] = [];
  for (const i of order) {
    if (kept.every((k) => boxIou(boxes[i], boxes[k]) <= thresh)) kept.push(i);
  }
  return kept;
}

/** Label map [H,W]: masks painted by decreasing area (label 1 = largest), so the smallest covering mask wins. */
export function paintLabelMap(masks: CroppedMask[], height: number, width: number): Int32Array {
  const order = masks.map((_, i) => i).sort((a, b) => masks[b].area - masks[a].area || a - b);
  const labels = new Int32Array(height * width);
  order.forEach((i, rank) => {
    const { box: [x0, y0, x1, y1], data } = masks[i];
    const w = x1 - x0 + 1;
    for (let p = 0; p < data.length; p++) if (data[p]) labels[(y0 + Math.floor(p / w)) * width + x0 + (p % w)] = rank + 1;
  });
  return labels;
}

/**
 * The encoder grid [C,G,G] (NCHW without batch) resampled to the image's
 * stride-`stride` grid: only the cells covering the resized image (not the
 * padding) are used, bilinear between cell centres, clamped at the border.
 */
export function resampleEmbedding(
  features: Float32Array,
  channels: number,
  grid: number,
  image: { height: number; width: number },
  resized: { height: number; width: number },
  stride = EMBEDDING_STRIDE,
): { embedding: Float32Array; shape: [number, number, number] } {
  const cell = SAM_INPUT_SIZE / grid;
  const validRows = Math.ceil(resized.height / cell);
  const validCols = Math.ceil(resized.width / cell);
  const { h, w } = embeddingGrid(image.height, image.width, stride);
  // Continuous position, in encoder cells, of the centre of the pixel a grid cell stands for.
  const axis = (n: number, size: number, resizedSize: number, valid: number) =>
    Array.from({ length: n }, (_, i) => {
      const u = Math.min(Math.max(((gridPixel(i, size, stride) + 0.5) * resizedSize) / size / cell - 0.5, 0), valid - 1);
      const i0 = Math.floor(u);
      const i1 = Math.min(i0 + 1, valid - 1);
      return { i0, i1, t: u - i0 };
    });
  const ys = axis(h, image.height, resized.height, validRows);
  const xs = axis(w, image.width, resized.width, validCols);
  const embedding = new Float32Array(h * w * channels);
  const plane = grid * grid;
  for (let i = 0; i < h; i++) {
    const { i0: y0, i1: y1, t: ty } = ys[i];
    for (let j = 0; j < w; j++) {
      const { i0: x0, i1: x1, t: tx } = xs[j];
      const w00 = (1 - ty) * (1 - tx), w01 = (1 - ty) * tx, w10 = ty * (1 - tx), w11 = ty * tx;
      const out = (i * w + j) * channels;
      for (let c = 0; c < channels; c++) {
        const base = c * plane;
        embedding[out + c] =
          w00 * features[base + y0 * grid + x0] + w01 * features[base + y0 * grid + x1] +
          w10 * features[base + y1 * grid + x0] + w11 * features[base + y1 * grid + x1];
      }
    }
  }
  return { embedding, shape: [h, w, channels] };
}

function sha256File(file: string): string {
  const hash = crypto.createHash("sha256");
  const fd = fs.openSync(file, "r");
  try {
    const buf = Buffer.alloc(1 << 22);
    let n: number;
    while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) hash.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest("hex");
}

/** Declared shape of a named input ([] when unknown). */
function inputShape(session: ort.InferenceSession, name: string): readonly (number | string)[] {
  const meta = session.inputMetadata[session.inputNames.indexOf(name)];
  return meta && meta.isTensor ? meta.shape : [];
}

const DECODER_INPUTS = ["image_embeddings", "point_coords", "point_labels", "mask_input", "has_mask_input", "orig_im_size"];
const DECODER_OUTPUTS = ["masks", "iou_predictions"];

/** Summary of what automatic mask generation kept, for reports and tests. */
export interface SamMaskStats {
  prompts: number;
  candidates: number;
  afterIou: number;
  afterStability: number;
  afterNms: number;
}

export interface SamTeacher extends Teacher {
  /** Counts of the last teach() call. */
  lastStats(): SamMaskStats | undefined;
}

/** Load both ONNX files; throws (naming the expected paths) when either is missing. */
export async function createSamTeacher(opts: SamTeacherOptions = {}): Promise<SamTeacher> {
  const o = { ...SAM_DEFAULTS, ...opts };
  const files = samModelFiles(o);
  const sessionOptions: ort.InferenceSession.SessionOptions = { intraOpNumThreads: o.threads, interOpNumThreads: 1 };
  const load = async (file: string) => {
    try {
      return await ort.InferenceSession.create(file, sessionOptions);
    } catch (e) {
      throw new Error(`${file}: onnxruntime cannot load it (${(e as Error).message})`);
    }
  };
  const encoder = await load(files.encoder);
  const decoder = await load(files.decoder);
  const missingIn = DECODER_INPUTS.filter((n) => !decoder.inputNames.includes(n));
  const missingOut = DECODER_OUTPUTS.filter((n) => !decoder.outputNames.includes(n));
  if (missingIn.length + missingOut.length > 0) {
    throw new Error(
      `${files.decoder}: not SAM's exported prompt decoder (missing ${[...missingIn.map((n) => `input ${n}`), ...missingOut.map((n) => `output ${n}`)].join(", ")})`,
    );
  }
  const maskInputShape = inputShape(decoder, "mask_input");
  let stats: SamMaskStats | undefined;

  const identity = {
    name: "sam",
    version: 1,
    params: {
      encoderSha256: sha256File(files.encoder),
      decoderSha256: sha256File(files.decoder),
      pointsPerSide: o.pointsPerSide,
      predIouThresh: o.predIouThresh,
      stabilityScoreThresh: o.stabilityScoreThresh,
      stabilityScoreOffset: o.stabilityScoreOffset,
      boxNmsThresh: o.boxNmsThresh,
      maskThreshold: o.maskThreshold,
      stride: o.stride,
    },
  };

  async function encode(img: RgbImage) {
    const { input, resized } = await samPreprocess(img);
    const feeds = { [encoder.inputNames[0]]: new ort.Tensor("float32", input, [1, 3, SAM_INPUT_SIZE, SAM_INPUT_SIZE]) };
    const out = (await encoder.run(feeds))[encoder.outputNames[0]] as ort.Tensor;
    const dims = out.dims;
    if (dims.length !== 4 || dims[0] !== 1 || dims[2] !== dims[3] || SAM_INPUT_SIZE % dims[2] !== 0) {
      throw new Error(`${files.encoder}: output ${encoder.outputNames[0]} has shape [${dims}], expected [1,C,G,G] with G dividing 1024 (SAM: [1,256,64,64])`);
    }
    return { tensor: out, channels: dims[1], grid: dims[2], resized };
  }

  async function generateMasks(embeddings: ort.Tensor, grid: number, img: RgbImage): Promise<CroppedMask[]> {
    const H = img.height, W = img.width;
    const resized = samResizedSize(H, W);
    const maskSide = typeof maskInputShape[2] === "number" ? maskInputShape[2] : 4 * grid;
    const fixed = {
      image_embeddings: embeddings,
      point_labels: new ort.Tensor("float32", Float32Array.from([1, -1]), [1, 2]),
      mask_input: new ort.Tensor("float32", new Float32Array(maskSide * maskSide), [1, 1, maskSide, maskSide]),
      has_mask_input: new ort.Tensor("float32", Float32Array.from([0]), [1]),
      orig_im_size: new ort.Tensor("float32", Float32Array.from([H, W]), [2]),
    };
    const s: SamMaskStats = { prompts: 0, candidates: 0, afterIou: 0, afterStability: 0, afterNms: 0 };
    const masks: CroppedMask[] = [];
    const boxes: number[][] = [];
    const scores: number[] = [];
    for (const [x, y] of pointGrid(o.pointsPerSide, H, W)) {
      // Point in the 1024 frame (ResizeLongestSide.apply_coords), then SAM's padding point.
      const coords = Float32Array.from([(x * resized.width) / W, (y * resized.height) / H, 0, 0]);
      const out = await decoder.run({ ...fixed, point_coords: new ort.Tensor("float32", coords, [1, 2, 2]) });
      const logits = out.masks as ort.Tensor;
      const iou = (out.iou_predictions as ort.Tensor).data as Float32Array;
      const [, M, mh, mw] = logits.dims;
      if (mh !== H || mw !== W) throw new Error(`${files.decoder}: masks come back ${mw}x${mh} for an image of ${W}x${H}`);
      s.prompts++;
      // The default export puts the single-mask output first; automatic generation uses the multimask ones.
      for (let m = M === 4 ? 1 : 0; m < M; m++) {
        s.candidates++;
        if (!(iou[m] > o.predIouThresh)) continue;
        s.afterIou++;
        const mask = (logits.data as Float32Array).subarray(m * H * W, (m + 1) * H * W);
        if (!(stabilityScore(mask, o.maskThreshold, o.stabilityScoreOffset) >= o.stabilityScoreThresh)) continue;
        s.afterStability++;
        const cropped = cropMask(mask, H, W, o.maskThreshold);
        masks.push(cropped);
        boxes.push(cropped.box);
        scores.push(iou[m]);
      }
    }
    const kept = boxNms(boxes, scores, o.boxNmsThresh);
    s.afterNms = kept.length;
    stats = s;
    return kept.map((i) => masks[i]);
  }

  return {
    identity,
    sourceKey: () => "",
    lastStats: () => stats,
    async teach(input): Promise<TeacherOutput> {
      checkTeacherInput(input);
      const img = input.image;
      const enc = await encode(img);
      const { embedding, shape } = resampleEmbedding(enc.tensor.data as Float32Array, enc.channels, enc.grid, img, enc.resized, o.stride);
      const masks = await generateMasks(enc.tensor, enc.grid, img);
      const groups = paintLabelMap(masks, img.height, img.width);
      return {
        height: img.height,
        width: img.width,
        embedding,
        embeddingShape: shape,
        groups,
        edges: Float32Array.from(labelBoundaries(groups, img.height, img.width)),
      };
    },
    async dispose() {
      await encoder.release();
      await decoder.release();
    },
  };
}
