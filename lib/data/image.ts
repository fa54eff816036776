// Image I/O: netpbm (ppm/pgm) through our own decoder, everything else (png, jpg,
// ...) through sharp. 8-bit RGB or grey, row-major, alpha dropped. Every reader
// error names the file.
import * as fs from "node:fs";
import * as path from "node:path";
import sharp from "sharp";
import * as tf from "@tensorflow/tfjs";
import { writeFileAtomicSync } from "../util/atomic";
import { DatasetError } from "./errors";
import type { GreyImage, RgbImage } from "../util/image-types";
import { decodePnm, isPnm } from "./pnm";

// Most code imports the image types from here, beside the readers.
export type { GreyImage, RgbImage } from "../util/image-types";

function greyToRgb(img: { width: number; height: number; channels: 1 | 3; data: Uint8Array }): Uint8Array {
  if (img.channels === 3) return img.data;
  const n = img.width * img.height;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = img.data[i];
  return out;
}

async function decode(file: string): Promise<RgbImage> {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DatasetError(`${file}: cannot read image (${code === "ENOENT" ? "file not found" : (e as Error).message})`);
  }
  try {
    if (isPnm(bytes)) {
      const img = decodePnm(bytes, file);
      return { width: img.width, height: img.height, data: greyToRgb(img) };
    }
    const { data, info } = await sharp(bytes).removeAlpha().toColourspace("srgb").raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded ${info.channels} channels, expected 3`);
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  } catch (e) {
    const msg = (e as Error).message;
    throw new DatasetError(msg.startsWith(file) ? msg : `${file}: cannot read image (${msg})`);
  }
}

/** Read any image sharp or the netpbm decoder understands as 8-bit RGB (grey images are expanded to 3 channels). */
export async function readRgb(file: string): Promise<RgbImage> {
  return decode(file);
}

/** Read any image as 8-bit grey: the BT.601 luma of its RGB decoding (as OpenCV's RGB2GRAY). */
export async function readGrey(file: string): Promise<GreyImage> {
  return rgbToGrey(await readRgb(file));
}

/** [H,W,3] float32 in 0..255. */
export function rgbToTensor(img: RgbImage): tf.Tensor3D {
  return tf.tensor3d(Float32Array.from(img.data), [img.height, img.width, 3], "float32");
}

/** Luma (ITU-R BT.601, as OpenCV's RGB2GRAY) of an RGB image. */
export function rgbToGrey(img: RgbImage): GreyImage {
  const n = img.width * img.height;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const r = img.data[3 * i], g = img.data[3 * i + 1], b = img.data[3 * i + 2];
    out[i] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
  }
  return { width: img.width, height: img.height, data: out };
}

/** Resize to exactly width x height (bilinear-ish "fill", as sharp's default kernel). */
export async function resizeRgb(img: RgbImage, width: number, height: number): Promise<RgbImage> {
  const { data, info } = await sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), {
    raw: { width: img.width, height: img.height, channels: 3 },
  })
    .resize(width, height, { fit: "fill" })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** Encode RGB as png or jpg (chosen by the file extension) and write it atomically. */
export async function writeRgb(file: string, img: RgbImage, opts: { jpegQuality?: number } = {}): Promise<void> {
  const ext = path.extname(file).toLowerCase();
  const raw = sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), {
    raw: { width: img.width, height: img.height, channels: 3 },
  });
  let buf: Buffer;
  if (ext === ".png") buf = await raw.png({ compressionLevel: 9 }).toBuffer();
  else if (ext === ".jpg" || ext === ".jpeg") buf = await raw.jpeg({ quality: opts.jpegQuality ?? 90 }).toBuffer();
  else throw new Error(`${file}: unsupported output image extension "${ext}" (use .png or .jpg)`);
  writeFileAtomicSync(file, buf);
}
