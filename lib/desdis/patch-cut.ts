// Cutting one 32x32 grey patch around a keypoint, as HPatches does: a square support region of
// `support` image pixels (65 px at the keypoint's scale), centred on the keypoint and rotated by
// `angle`, resampled to 32x32.
//
// Geometry. Patch pixel (u, v), u, v = 0..31, has its centre at (u + 0.5, v + 0.5) in patch units;
// the patch centre is (16, 16). It shows the image point
//   c + R(angle) * (support / 32) * (u + 0.5 - 16, v + 0.5 - 16)
// so the 32 patch pixels tile the support exactly (pixel centres of a 65-px support resized to 32
// with half-pixel centres, as cv.resize). With `homography` (view -> source pixels) that point is a
// point of a view of the image and is read at H(point) in the source image: a patch of a warped
// image is cut without warping the whole image.
// Each patch pixel averages `SUPERSAMPLE`^2 bilinear taps spread over its footprint (a box filter:
// a 65-px support shrunk to 32 px would otherwise alias). Taps outside the image read the nearest
// border pixel; callers keep supports inside the image (supportInside).
import { applyToPoint, Homography } from "../geometry/homography";
import { PATCH_SIZE } from "../models/patch-descriptors";

/** A grey image as floats, 0..255, [H,W] row-major. */
export interface GreyFloat {
  width: number;
  height: number;
  data: Float32Array;
}

/** Where a patch is cut: centre (x, y) in pixels, side of the support in pixels, rotation in radians. */
export interface PatchFrame {
  x: number;
  y: number;
  support: number;
  angle: number;
}

/** Taps per patch pixel along each axis. */
export const SUPERSAMPLE = 2;

/** Bilinear value at (x, y), coordinates clamped to the image. */
export function bilinear(img: GreyFloat, x: number, y: number): number {
  const { width: W, height: H, data } = img;
  const xc = Math.min(Math.max(x, 0), W - 1), yc = Math.min(Math.max(y, 0), H - 1);
  const x0 = Math.min(Math.floor(xc), W - 2 < 0 ? 0 : W - 2), y0 = Math.min(Math.floor(yc), H - 2 < 0 ? 0 : H - 2);
  const x1 = Math.min(x0 + 1, W - 1), y1 = Math.min(y0 + 1, H - 1);
  const fx = xc - x0, fy = yc - y0;
  return (1 - fy) * ((1 - fx) * data[y0 * W + x0] + fx * data[y0 * W + x1]) + fy * ((1 - fx) * data[y1 * W + x0] + fx * data[y1 * W + x1]);
}

/** The point patch coordinates (pu, pv) (patch units, 0..32) show, in view pixels. */
export function patchToView(frame: PatchFrame, pu: number, pv: number): [number, number] {
  const s = frame.support / PATCH_SIZE;
  const c = Math.cos(frame.angle), n = Math.sin(frame.angle);
  const du = (pu - PATCH_SIZE / 2) * s, dv = (pv - PATCH_SIZE / 2) * s;
  return [frame.x + c * du - n * dv, frame.y + n * du + c * dv];
}

/**
 * Cut one patch of `img` into `out` [32*32] at `offset` (values 0..255). `homography` maps view
 * pixels to `img` pixels (omit it for a patch of the image itself).
 */
export function cutPatch(img: GreyFloat, frame: PatchFrame, out: Float32Array, offset = 0, homography?: Homography): void {
  const k = SUPERSAMPLE;
  const inv = 1 / (k * k);
  for (let v = 0; v < PATCH_SIZE; v++) {
    for (let u = 0; u < PATCH_SIZE; u++) {
      let acc = 0;
      for (let j = 0; j < k; j++) {
        for (let i = 0; i < k; i++) {
          let [x, y] = patchToView(frame, u + (i + 0.5) / k, v + (j + 0.5) / k);
          if (homography) [x, y] = applyToPoint(homography, x, y);
          acc += bilinear(img, x, y);
        }
      }
      out[offset + v * PATCH_SIZE + u] = acc * inv;
    }
  }
}

/** Whether the support's four corners (through `homography` when given) lie inside the image, `margin` px from its border. */
export function supportInside(width: number, height: number, frame: PatchFrame, homography?: Homography, margin = 0): boolean {
  for (const [pu, pv] of [[0, 0], [PATCH_SIZE, 0], [PATCH_SIZE, PATCH_SIZE], [0, PATCH_SIZE]]) {
    let [x, y] = patchToView(frame, pu, pv);
    if (homography) [x, y] = applyToPoint(homography, x, y);
    if (!(x >= margin && y >= margin && x <= width - 1 - margin && y <= height - 1 - margin)) return false;
  }
  return true;
}

/**
 * Local scale of a homography at (x, y): sqrt |det J| of its Jacobian (central differences), the
 * factor by which it stretches a small region there. A scale-covariant detector would see the
 * keypoint at this times its scale in the other image.
 */
export function localScale(h: Homography, x: number, y: number): number {
  const e = 0.5;
  const [ax, ay] = applyToPoint(h, x + e, y), [bx, by] = applyToPoint(h, x - e, y);
  const [cx, cy] = applyToPoint(h, x, y + e), [dx, dy] = applyToPoint(h, x, y - e);
  const j00 = (ax - bx) / (2 * e), j10 = (ay - by) / (2 * e), j01 = (cx - dx) / (2 * e), j11 = (cy - dy) / (2 * e);
  return Math.sqrt(Math.abs(j00 * j11 - j01 * j10));
}

/** Grey floats (0..255) from an RGB image: BT.601 luma, as rgbToGrey but without rounding. */
export function greyFloat(img: { width: number; height: number; data: Uint8Array }): GreyFloat {
  const n = img.width * img.height;
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = 0.299 * img.data[3 * i] + 0.587 * img.data[3 * i + 1] + 0.114 * img.data[3 * i + 2];
  return { width: img.width, height: img.height, data };
}
