// Photometric augmentation: the imgaug Sequential SAMFeat/MTLDesc train with,
// re-implemented with the same parameter ranges and applied in the same order:
//   Add(-50..50) -> LinearContrast(0.5..1.5) -> AdditiveGaussianNoise(sigma 0..10)
//   -> ImpulseNoise(p 0..0.0035) -> Sometimes(0.5, MotionBlur(k=3)).
// Per-image parameters are drawn from the seeded generator; Add, contrast and
// Gaussian noise act on all channels alike (imgaug's per_channel=False), impulse
// noise hits channels independently (imgaug's ImpulseNoise is per channel).
import type { RgbImage } from "../util/image-types";
import { Rng } from "./random";

export interface PhotometricOptions {
  addRange: [number, number];
  contrastRange: [number, number];
  gaussianSigmaRange: [number, number];
  impulseProbabilityRange: [number, number];
  motionBlurProbability: number;
  motionBlurKernel: number;
}

export const PHOTOMETRIC_DEFAULTS: PhotometricOptions = {
  addRange: [-50, 50],
  contrastRange: [0.5, 1.5],
  gaussianSigmaRange: [0, 10],
  impulseProbabilityRange: [0, 0.0035],
  motionBlurProbability: 0.5,
  motionBlurKernel: 3,
};

/** The parameters drawn for one image (returned so callers can log or test them). */
export interface PhotometricDraw {
  add: number;
  contrast: number;
  sigma: number;
  impulse: number;
  /** Normalised k x k motion-blur kernel, or null when the blur was skipped. */
  blur: Float32Array | null;
}

/**
 * imgaug's MotionBlur kernel: a vertical line through the centre weighted
 * linearly from `direction` to 1-`direction` (direction in [0,1]), rotated by
 * `angle` degrees with bilinear interpolation, normalised to sum 1.
 */
export function motionBlurKernel(k: number, angleDeg: number, direction: number): Float32Array {
  const line = new Float32Array(k * k);
  const mid = k >> 1;
  for (let i = 0; i < k; i++) line[i * k + mid] = k === 1 ? 1 : direction + ((1 - 2 * direction) * i) / (k - 1);
  const a = (angleDeg * Math.PI) / 180, c = Math.cos(a), s = Math.sin(a);
  const centre = (k - 1) / 2;
  const out = new Float32Array(k * k);
  let sum = 0;
  for (let y = 0; y < k; y++) {
    for (let x = 0; x < k; x++) {
      // pre-image of (x, y) under a rotation about the kernel centre
      const u = c * (x - centre) + s * (y - centre) + centre;
      const v = -s * (x - centre) + c * (y - centre) + centre;
      const x0 = Math.floor(u), y0 = Math.floor(v), fx = u - x0, fy = v - y0;
      const at = (xx: number, yy: number) => (xx >= 0 && yy >= 0 && xx < k && yy < k ? line[yy * k + xx] : 0);
      const val =
        (1 - fx) * (1 - fy) * at(x0, y0) + fx * (1 - fy) * at(x0 + 1, y0) + (1 - fx) * fy * at(x0, y0 + 1) + fx * fy * at(x0 + 1, y0 + 1);
      out[y * k + x] = val;
      sum += val;
    }
  }
  if (sum <= 0) {
    out.fill(0);
    out[mid * k + mid] = 1;
    return out;
  }
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}

/** Draw the per-image parameters. */
function drawPhotometric(rng: Rng, opts: Partial<PhotometricOptions> = {}): PhotometricDraw {
  const o = { ...PHOTOMETRIC_DEFAULTS, ...opts };
  // imgaug's Add samples an integer value
  const add = Math.round(rng.uniform(o.addRange[0], o.addRange[1]));
  const contrast = rng.uniform(o.contrastRange[0], o.contrastRange[1]);
  const sigma = rng.uniform(o.gaussianSigmaRange[0], o.gaussianSigmaRange[1]);
  const impulse = rng.uniform(o.impulseProbabilityRange[0], o.impulseProbabilityRange[1]);
  const blur =
    rng.next() < o.motionBlurProbability
      ? motionBlurKernel(o.motionBlurKernel, rng.uniform(0, 360), (rng.uniform(-1, 1) + 1) / 2)
      : null;
  return { add, contrast, sigma, impulse, blur };
}

const clip255 = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));

/** Apply already drawn parameters; the noise itself comes from `rng`. */
export function applyPhotometric(img: RgbImage, draw: PhotometricDraw, rng: Rng): RgbImage {
  const { width: W, height: H } = img;
  const n = W * H;
  let px = new Float32Array(n * 3);
  // Each imgaug step rounds and clips back to uint8, so do the same between steps. Add then contrast
  // depend on the input byte alone: one 256-entry table gives both.
  const addContrast = new Float32Array(256);
  for (let v = 0; v < 256; v++) addContrast[v] = clip255(127.5 + draw.contrast * (clip255(v + draw.add) - 127.5));
  for (let i = 0; i < n * 3; i++) px[i] = addContrast[img.data[i]];
  if (draw.sigma > 0) {
    for (let p = 0; p < n; p++) {
      const e = draw.sigma * rng.normal();
      for (let c = 0; c < 3; c++) px[3 * p + c] = clip255(px[3 * p + c] + e);
    }
  }
  if (draw.impulse > 0) {
    for (let i = 0; i < n * 3; i++) if (rng.next() < draw.impulse) px[i] = rng.next() < 0.5 ? 0 : 255;
  }
  if (draw.blur) px = motionBlur(px, W, H, draw.blur);
  const data = new Uint8Array(n * 3);
  for (let i = 0; i < n * 3; i++) data[i] = px[i];
  return { width: W, height: H, data };
}

/** k x k filter of an [H,W,3] image with reflect-101 borders (OpenCV filter2D's default, as imgaug). */
function motionBlur(px: Float32Array, W: number, H: number, kernel: Float32Array): Float32Array {
  const k = Math.round(Math.sqrt(kernel.length)), r = k >> 1;
  const out = new Float32Array(W * H * 3);
  const reflect = (v: number, size: number) => (v < 0 ? -v : v >= size ? 2 * size - 2 - v : v);
  // Source column of every tap offset at every x, so the inner loop does no border arithmetic; the
  // sum runs in the same order as a direct loop, so the result is the same to the bit.
  const cols = new Int32Array(W * k);
  for (let x = 0; x < W; x++) for (let dx = -r; dx <= r; dx++) cols[x * k + dx + r] = reflect(x + dx, W) * 3;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      for (let c = 0; c < 3; c++) {
        let acc = 0;
        for (let dy = -r; dy <= r; dy++) {
          const row = reflect(y + dy, H) * W * 3 + c;
          const kr = (dy + r) * k;
          for (let t = 0; t < k; t++) acc += kernel[kr + t] * px[row + cols[x * k + t]];
        }
        out[(y * W + x) * 3 + c] = clip255(acc);
      }
    }
  }
  return out;
}

/** Draw parameters and apply them: the full augmentation of one image. */
export function photometricAugment(img: RgbImage, rng: Rng, opts: Partial<PhotometricOptions> = {}): RgbImage {
  return applyPhotometric(img, drawPhotometric(rng, opts), rng);
}
