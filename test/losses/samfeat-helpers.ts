// Shared by the SAMFeat loss tests: building PairOutputs/PairTargets from plain arrays, and a
// directional finite-difference gradient check.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import type { PairOutputs, PairTargets } from "../../lib/losses/types";
import { randomValues } from "../engine/helpers";

export { randomValues };

/** Positive values in [lo, hi) from the deterministic generator. */
export function randomPositive(n: number, seed: number, lo = 0.5, hi = 1.5): Float32Array {
  return randomValues(n, seed).map((v) => lo + ((v + 1) / 2) * (hi - lo));
}

/** Unit vector at `deg` degrees in the plane. */
export function unit(deg: number): [number, number] {
  const r = (deg * Math.PI) / 180;
  return [Math.cos(r), Math.sin(r)];
}

/** Size of a stride-s grid, at least 1 (the hand-worked cases use images smaller than 8 px). */
const grid = (size: number, stride: number) => Math.max(1, Math.floor(size / stride));

/**
 * Targets for B pairs of H x W images with n points; anything not given is a harmless default
 * (no keypoints, all masks 1, identity not-search mask, no categories, flags 1, zero teachers).
 */
export function makeTargets(p: {
  B: number;
  H: number;
  W: number;
  n: number;
  points: number[]; // [2B,n,2]
  valid?: number[]; // [B,n]
  notSearch?: number[]; // [B,n,n]
  categories?: number[]; // [2B,n]
  teacherFlag?: number[]; // [2B]
  keypoints?: tf.Tensor4D;
  pointMask?: tf.Tensor4D;
  teacherEmbedding?: tf.Tensor4D;
  teacherEdges?: tf.Tensor4D;
}): PairTargets {
  const { B, H, W, n } = p;
  const eye = Array.from({ length: B * n * n }, (_, k) => (Math.floor(k / n) % n === k % n ? 1 : 0));
  return {
    pairs: B,
    height: H,
    width: W,
    keypoints: p.keypoints ?? tf.zeros([2 * B, H, W, 1]),
    pointMask: p.pointMask ?? tf.ones([2 * B, H, W, 1]),
    points: tf.tensor3d(p.points, [2 * B, n, 2]),
    valid: tf.tensor2d(p.valid ?? new Array(B * n).fill(1), [B, n]),
    notSearch: tf.tensor3d(p.notSearch ?? eye, [B, n, n]),
    categories: tf.tensor2d(p.categories ?? new Array(2 * B * n).fill(-1), [2 * B, n]),
    teacherFlag: tf.tensor1d(p.teacherFlag ?? new Array(2 * B).fill(1)),
    teacherEmbedding: p.teacherEmbedding ?? tf.zeros([2 * B, grid(H, 8), grid(W, 8), 4]),
    teacherEdges: p.teacherEdges ?? tf.zeros([2 * B, H, W, 1]),
  };
}

/** Outputs with the given tensors and placeholders for the rest (shapes follow H, W). */
export function makeOutputs(B: number, H: number, W: number, p: Partial<PairOutputs>): PairOutputs {
  return {
    heatmap: p.heatmap ?? tf.zeros([2 * B, H, W, 1]),
    descriptors: p.descriptors ?? tf.ones([2 * B, grid(H, 4), grid(W, 4), 2]),
    attention: p.attention ?? tf.ones([2 * B, grid(H, 4), grid(W, 4), 1]),
    distill: p.distill ?? tf.ones([2 * B, grid(H, 8), grid(W, 8), 4]),
    ...(p.edges ? { edges: p.edges } : {}),
  };
}

/** A scalar's value; disposes the scalar. */
export function value(t: tf.Scalar): number {
  const v = t.dataSync()[0];
  t.dispose();
  return v;
}

export function assertClose(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Number.isFinite(actual), `${what}: got ${actual}`);
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: got ${actual}, expected ${expected} (tolerance ${tol})`);
}

/**
 * Directional finite differences: for a few random directions v over all of `inputs` at once,
 * (f(x + eps v) - f(x - eps v)) / 2eps must match <∇f(x), v> within rtol of their size.
 * Also requires the derivatives not to be negligible (so the check is not vacuous). The direction
 * seeds (from 9173) must differ from the seeds of the inputs, or v could equal x.
 */
export function checkGradient(
  f: (inputs: Record<string, tf.Tensor>) => tf.Scalar,
  inputs: Record<string, tf.Tensor>,
  opts: { eps?: number; rtol?: number; directions?: number; seed?: number; minAbs?: number } = {},
): number[] {
  const { eps = 3e-3, rtol = 2e-2, directions = 3, seed = 9173, minAbs = 1e-3 } = opts;
  const names = Object.keys(inputs);
  const xs = names.map((k) => inputs[k]);
  const grads = tf.grads((...ts: tf.Tensor[]) => f(Object.fromEntries(names.map((k, i) => [k, ts[i]]))))(xs);
  const g = grads.map((t) => t.dataSync() as Float32Array);
  tf.dispose(grads);
  for (const [i, gi] of g.entries()) assert.ok(gi.every(Number.isFinite), `gradient of ${names[i]} is not finite`);
  const derivatives: number[] = [];
  for (let d = 0; d < directions; d++) {
    const dirs = xs.map((x, i) => randomValues(x.size, seed + 101 * d + i));
    let analytic = 0;
    dirs.forEach((v, i) => v.forEach((vj, j) => (analytic += vj * g[i][j])));
    const at = (s: number) =>
      tf.tidy(() => {
        const moved = Object.fromEntries(names.map((k, i) => [k, tf.add(xs[i], tf.mul(tf.tensor(dirs[i], xs[i].shape), s))]));
        return f(moved).dataSync()[0];
      });
    const numeric = (at(eps) - at(-eps)) / (2 * eps);
    assert.ok(Math.abs(analytic) > minAbs, `direction ${d}: derivative ${analytic} too small for a meaningful check`);
    assert.ok(
      Math.abs(numeric - analytic) <= rtol * Math.max(Math.abs(numeric), Math.abs(analytic)),
      `direction ${d}: finite difference ${numeric} vs gradient ${analytic}`,
    );
    derivatives.push(analytic);
  }
  return derivatives;
}
