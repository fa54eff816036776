// The random perturbations of one patch: geometric jitter of its frame (HPatches jitters its
// patches' position, rotation and scale the same way, "easy"/"hard"/"tough") and photometric noise
// on its values (the same family as the SAMFeat augmentation, lib/geometry/photometric.ts: an
// intensity shift, a contrast change about mid-grey and Gaussian noise, clipped to 0..255).
import { Rng } from "../geometry/random";
import type { PatchFrame } from "./patch-cut";

export interface JitterOptions {
  /** Shift of the centre, uniform in [-shift, shift] times the support side. */
  shift: number;
  /** Rotation, uniform in [-angle, angle] radians. */
  angle: number;
  /** Support scaled by exp(uniform(-logScale, logScale)). */
  logScale: number;
}

export interface NoiseOptions {
  /** Intensity shift, uniform in [-add, add] grey levels. */
  add: number;
  /** Contrast factor exp(uniform(-logContrast, logContrast)) about 127.5. */
  logContrast: number;
  /** Gaussian noise sigma, uniform in [0, sigma] grey levels. */
  sigma: number;
}

export const JITTER_DEFAULTS: JitterOptions = { shift: 0.03, angle: (10 * Math.PI) / 180, logScale: 0.1 };
export const NOISE_DEFAULTS: NoiseOptions = { add: 20, logContrast: 0.25, sigma: 4 };

/** The frame moved by one jitter draw. */
export function jitterFrame(frame: PatchFrame, rng: Rng, o: JitterOptions): PatchFrame {
  const dx = rng.uniform(-o.shift, o.shift) * frame.support;
  const dy = rng.uniform(-o.shift, o.shift) * frame.support;
  const da = rng.uniform(-o.angle, o.angle);
  const ds = Math.exp(rng.uniform(-o.logScale, o.logScale));
  return { x: frame.x + dx, y: frame.y + dy, support: frame.support * ds, angle: frame.angle + da };
}

/** The largest support factor a jitter draw can give (for checking supports stay inside the image). */
export function maxJitterScale(o: JitterOptions): number {
  return Math.exp(o.logScale);
}

/** Photometric noise on patch values [32*32] at `offset`, in place. */
export function addNoise(values: Float32Array, offset: number, length: number, rng: Rng, o: NoiseOptions): void {
  const add = rng.uniform(-o.add, o.add);
  const contrast = Math.exp(rng.uniform(-o.logContrast, o.logContrast));
  const sigma = rng.uniform(0, o.sigma);
  for (let i = offset; i < offset + length; i++) {
    const v = 127.5 + contrast * (values[i] + add - 127.5) + (sigma > 0 ? sigma * rng.normal() : 0);
    values[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
}
