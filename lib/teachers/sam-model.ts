// SAM's two ONNX models through onnxruntime-node, from user-supplied files in
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
// This module only runs the models: preprocessing, one encoder pass per image, one decoder
// pass per point prompt, and the encoder grid resampled to the teachers' stride-8 grid.
import * as fs from "node:fs";
import * as path from "node:path";
import * as ort from "onnxruntime-node";
import sharp from "sharp";
import type { RgbImage } from "../util/image-types";
import { fileSha256 } from "../util/file-hash";
import { SAM_DECODER_FILE, SAM_ENCODER_FILE, SAM_MODEL_DIR } from "./sam-files";
import type { PromptMasks } from "./sam-masks";
import { EMBEDDING_STRIDE, embeddingGrid, gridPixel } from "./teacher";

export { SAM_DECODER_FILE, SAM_ENCODER_FILE, SAM_MODEL_DIR } from "./sam-files";
/** SAM's input side and normalisation (segment_anything/modeling/sam.py). */
export const SAM_INPUT_SIZE = 1024;
export const SAM_PIXEL_MEAN = [123.675, 116.28, 103.53];
export const SAM_PIXEL_STD = [58.395, 57.12, 57.375];

export interface SamModelOptions {
  /** Folder holding the two ONNX files. */
  modelDir?: string;
  encoderFile?: string;
  decoderFile?: string;
  /** onnxruntime intra-op threads. */
  threads?: number;
}

export const SAM_MODEL_DEFAULTS: Required<SamModelOptions> = {
  modelDir: SAM_MODEL_DIR,
  encoderFile: SAM_ENCODER_FILE,
  decoderFile: SAM_DECODER_FILE,
  threads: 2,
};

/** Paths of the two ONNX files; throws one message naming every missing file and how to get it. */
export function samModelFiles(opts: SamModelOptions = {}): { encoder: string; decoder: string } {
  const o = { ...SAM_MODEL_DEFAULTS, ...opts };
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
async function samPreprocess(img: RgbImage): Promise<{ input: Float32Array; resized: { height: number; width: number } }> {
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

/** Declared shape of a named input ([] when unknown). */
function inputShape(session: ort.InferenceSession, name: string): readonly (number | string)[] {
  const meta = session.inputMetadata[session.inputNames.indexOf(name)];
  return meta && meta.isTensor ? meta.shape : [];
}

const DECODER_INPUTS = ["image_embeddings", "point_coords", "point_labels", "mask_input", "has_mask_input", "orig_im_size"];
const DECODER_OUTPUTS = ["masks", "iou_predictions"];

/** One image through the encoder: its embedding tensor (kept for the decoder) and its layout. */
export interface SamEncoding {
  tensor: ort.Tensor;
  channels: number;
  grid: number;
  image: { height: number; width: number };
  resized: { height: number; width: number };
}

export interface SamModel {
  /** sha256 of the two files, for the cache identity. */
  encoderSha256: string;
  decoderSha256: string;
  encode(img: RgbImage): Promise<SamEncoding>;
  /** The decoder's masks for one point (x,y in image pixels): the multimask outputs, or the single mask of a single-mask export. */
  decodePoint(enc: SamEncoding, x: number, y: number): Promise<PromptMasks>;
  release(): Promise<void>;
}

/** Load both ONNX files; throws (naming the expected paths) when either is missing or is not what SAM exports. */
export async function loadSamModel(opts: SamModelOptions = {}): Promise<SamModel> {
  const o = { ...SAM_MODEL_DEFAULTS, ...opts };
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

  return {
    encoderSha256: fileSha256(files.encoder),
    decoderSha256: fileSha256(files.decoder),
    async encode(img) {
      const { input, resized } = await samPreprocess(img);
      const feeds = { [encoder.inputNames[0]]: new ort.Tensor("float32", input, [1, 3, SAM_INPUT_SIZE, SAM_INPUT_SIZE]) };
      const out = (await encoder.run(feeds))[encoder.outputNames[0]] as ort.Tensor;
      const dims = out.dims;
      if (dims.length !== 4 || dims[0] !== 1 || dims[2] !== dims[3] || SAM_INPUT_SIZE % dims[2] !== 0) {
        throw new Error(`${files.encoder}: output ${encoder.outputNames[0]} has shape [${dims}], expected [1,C,G,G] with G dividing 1024 (SAM: [1,256,64,64])`);
      }
      return { tensor: out, channels: dims[1], grid: dims[2], image: { height: img.height, width: img.width }, resized };
    },
    async decodePoint(enc, x, y) {
      const { height: H, width: W } = enc.image;
      const maskSide = typeof maskInputShape[2] === "number" ? maskInputShape[2] : 4 * enc.grid;
      // The point in the 1024 frame (ResizeLongestSide.apply_coords), then SAM's padding point (label -1).
      const coords = Float32Array.from([(x * enc.resized.width) / W, (y * enc.resized.height) / H, 0, 0]);
      const out = await decoder.run({
        image_embeddings: enc.tensor,
        point_coords: new ort.Tensor("float32", coords, [1, 2, 2]),
        point_labels: new ort.Tensor("float32", Float32Array.from([1, -1]), [1, 2]),
        mask_input: new ort.Tensor("float32", new Float32Array(maskSide * maskSide), [1, 1, maskSide, maskSide]),
        has_mask_input: new ort.Tensor("float32", Float32Array.from([0]), [1]),
        orig_im_size: new ort.Tensor("float32", Float32Array.from([H, W]), [2]),
      });
      const logits = out.masks as ort.Tensor;
      const iou = (out.iou_predictions as ort.Tensor).data as Float32Array;
      const [, M, mh, mw] = logits.dims;
      if (mh !== H || mw !== W) throw new Error(`${files.decoder}: masks come back ${mw}x${mh} for an image of ${W}x${H}`);
      // The default export puts the single-mask output first; automatic generation uses the multimask ones.
      const first = M === 4 ? 1 : 0;
      return { logits: (logits.data as Float32Array).subarray(first * H * W), iou: iou.subarray(first), count: M - first };
    },
    async release() {
      await encoder.release();
      await decoder.release();
    },
  };
}
