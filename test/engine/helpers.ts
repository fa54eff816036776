// Shared by the engine tests: deterministic random data and comparisons between backends.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";

/** Deterministic uniform values in [-1, 1) (mulberry32), so failures reproduce. */
export function randomValues(n: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

export function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Runs `f` on `backend` and returns its outputs' values (read outside tidy). */
export async function runOn(backend: "cpu" | "wasm" | "webgpu", f: () => tf.Tensor[]): Promise<{ shape: number[]; values: Float32Array }[]> {
  await tf.setBackend(backend);
  const outs = tf.tidy(f);
  const res = outs.map((t) => ({ shape: t.shape, values: t.dataSync() as Float32Array }));
  tf.dispose(outs);
  return res;
}

/** max |a - ref| / max |ref|: the error relative to the output's scale. */
export function scaledError(a: Float32Array, ref: Float32Array | Float64Array): number {
  assert.equal(a.length, ref.length, "lengths differ");
  let err = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    err = Math.max(err, Math.abs(a[i] - ref[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  assert.ok(scale > 0, "reference is all zeros: the comparison would be empty");
  return err / scale;
}
