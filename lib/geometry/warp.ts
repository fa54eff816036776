// Inverse-mapping bilinear warps. With H mapping source pixels to output pixels,
// output pixel p takes the source value at H^-1 p; pixels whose pre-image falls
// outside the source are filled with 0 and marked invalid in the mask.
import type { RgbImage } from "../util/image-types";
import { applyToPoint, Homography, invert } from "./homography";

export interface Raster {
  width: number;
  height: number;
  channels: number;
  /** [H,W,C] row-major */
  data: Uint8Array | Float32Array;
}

export interface WarpOptions {
  /** Output size; defaults to the source size. */
  width?: number;
  height?: number;
}

/** 1 where the pre-image H^-1 p of output pixel p lies inside the source (pixel centres 0..W-1, 0..H-1). */
export function validityMask(h: Homography, srcWidth: number, srcHeight: number, opts: WarpOptions = {}): Uint8Array {
  const outW = opts.width ?? srcWidth, outH = opts.height ?? srcHeight;
  const inv = invert(h);
  const mask = new Uint8Array(outW * outH);
  const eps = 1e-6;
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      const [u, v] = applyToPoint(inv, x, y);
      mask[y * outW + x] = u >= -eps && v >= -eps && u <= srcWidth - 1 + eps && v <= srcHeight - 1 + eps ? 1 : 0;
    }
  }
  return mask;
}

/** Bilinear warp of any [H,W,C] raster; returns float samples and the validity mask [H',W']. */
export function warpRaster(src: Raster, h: Homography, opts: WarpOptions = {}): { data: Float32Array; mask: Uint8Array } {
  const { width: W, height: Hh, channels: C, data } = src;
  const outW = opts.width ?? W, outH = opts.height ?? Hh;
  const inv = invert(h);
  const out = new Float32Array(outW * outH * C);
  const mask = new Uint8Array(outW * outH);
  const eps = 1e-6;
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      const w = inv[6] * x + inv[7] * y + inv[8];
      const u = (inv[0] * x + inv[1] * y + inv[2]) / w;
      const v = (inv[3] * x + inv[4] * y + inv[5]) / w;
      if (!(u >= -eps && v >= -eps && u <= W - 1 + eps && v <= Hh - 1 + eps)) continue;
      const o = y * outW + x;
      mask[o] = 1;
      const uc = Math.min(Math.max(u, 0), W - 1), vc = Math.min(Math.max(v, 0), Hh - 1);
      const x0 = Math.min(Math.floor(uc), W - 1), y0 = Math.min(Math.floor(vc), Hh - 1);
      const x1 = Math.min(x0 + 1, W - 1), y1 = Math.min(y0 + 1, Hh - 1);
      const fx = uc - x0, fy = vc - y0;
      const w00 = (1 - fx) * (1 - fy), w01 = fx * (1 - fy), w10 = (1 - fx) * fy, w11 = fx * fy;
      const i00 = (y0 * W + x0) * C, i01 = (y0 * W + x1) * C, i10 = (y1 * W + x0) * C, i11 = (y1 * W + x1) * C;
      for (let c = 0; c < C; c++) {
        out[o * C + c] = w00 * data[i00 + c] + w01 * data[i01 + c] + w10 * data[i10 + c] + w11 * data[i11 + c];
      }
    }
  }
  return { data: out, mask };
}

/** Warp an RGB image by H (source -> output pixels); invalid pixels are black. */
export function warpImage(img: RgbImage, h: Homography, opts: WarpOptions = {}): { image: RgbImage; mask: Uint8Array } {
  const { data, mask } = warpRaster({ ...img, channels: 3 }, h, opts);
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = Math.round(data[i]);
  return { image: { width: opts.width ?? img.width, height: opts.height ?? img.height, data: out }, mask };
}
