// Which images and random draws a step uses, as a pure function of (seed, step): a resumed run sees
// exactly the batches an uninterrupted one would have.
import { Rng } from "../geometry/random";

/** A 32-bit seed from several integers (murmur3's finaliser over a running mix). */
export function seedFor(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** A seeded permutation of 0..n-1 (Fisher-Yates). */
export function permutation(n: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  const p = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/**
 * The images of step `step`: the run walks through a fresh permutation of the n images per epoch,
 * `batch` images a step, so every image is used once per epoch. Returns image indices and the seed
 * of each pair's random draws.
 */
export class BatchSchedule {
  private epoch = -1;
  private order = new Int32Array(0);

  constructor(readonly images: number, readonly batch: number, readonly seed: number) {
    if (images < 1) throw new Error("batch schedule: no images");
  }

  step(step: number): { image: number; seed: number }[] {
    const out: { image: number; seed: number }[] = [];
    for (let b = 0; b < this.batch; b++) {
      const g = step * this.batch + b;
      const epoch = Math.floor(g / this.images);
      if (epoch !== this.epoch) {
        this.epoch = epoch;
        this.order = permutation(this.images, seedFor(this.seed, epoch, 0x5eed));
      }
      out.push({ image: this.order[g % this.images], seed: seedFor(this.seed, step, b) });
    }
    return out;
  }
}
