// Differentiable bilinear sampling of dense maps at the (constant) correspondence points.
//
// Convention (lib/eval/sampling.ts, and the release's grid_sample(align_corners=False) on points
// normalised by (W-1, H-1)): a point (x, y) in pixels of an H x W image reads map pixel
//   u = x / (W-1) * w - 0.5,   v = y / (H-1) * h - 0.5.
// "border" clamps (u, v) into the map before interpolating (the release samples descriptors and
// attention with padding_mode="border"); "zeros" lets taps outside the map read 0.
//
// The points carry no gradient, so the four bilinear taps of each point (flat map indices and
// weights) are constants built in JS. The samples are four gathers of map rows, weighted and summed;
// the gradient w.r.t. the map is the matching scatter-add (ScatterNd sums duplicate indices), written
// as a custom gradient because tfjs's own gather gradient needs UnsortedSegmentSum, which the wasm
// backend lacks. Cost: 4 row reads per point and channel, against h*w for a dense weight matrix.
import * as tf from "@tensorflow/tfjs";

export type Padding = "border" | "zeros";

/** The four taps of each point: flat indices into [N*h*w] and weights, each [4, N*n] (tap-major). */
export interface BilinearTaps {
  indices: Int32Array;
  weights: Float32Array;
}

/** Bilinear taps for points [N,n,2] (x, y) of an H x W image on an h x w map. */
export function bilinearTaps(
  points: ArrayLike<number>,
  N: number,
  n: number,
  h: number,
  w: number,
  H: number,
  W: number,
  padding: Padding,
): BilinearTaps {
  const R = N * n;
  const indices = new Int32Array(4 * R);
  const weights = new Float32Array(4 * R);
  const sx = w / Math.max(1, W - 1);
  const sy = h / Math.max(1, H - 1);
  for (let r = 0; r < R; r++) {
    let u = points[2 * r] * sx - 0.5;
    let v = points[2 * r + 1] * sy - 0.5;
    if (padding === "border") {
      u = Math.min(Math.max(u, 0), w - 1);
      v = Math.min(Math.max(v, 0), h - 1);
    }
    const x0 = Math.floor(u);
    const y0 = Math.floor(v);
    const fx = u - x0;
    const fy = v - y0;
    const base = Math.floor(r / n) * h * w;
    const taps: [number, number, number][] = [
      [x0, y0, (1 - fx) * (1 - fy)],
      [x0 + 1, y0, fx * (1 - fy)],
      [x0, y0 + 1, (1 - fx) * fy],
      [x0 + 1, y0 + 1, fx * fy],
    ];
    taps.forEach(([x, y, wt], k) => {
      // Out-of-map taps read 0 (only reachable with "zeros"; with "border" their weight is 0): index 0, weight 0.
      const inside = x >= 0 && y >= 0 && x < w && y < h;
      indices[k * R + r] = inside ? base + y * w + x : 0;
      weights[k * R + r] = inside ? wt : 0;
    });
  }
  return { indices, weights };
}

/**
 * map [N,h,w,C] sampled at points [N,n,2] (pixel x, y of an H x W image) -> [N,n,C].
 * Differentiable w.r.t. `map`; `points` is read as a constant.
 */
export function sampleAtPoints(
  map: tf.Tensor4D,
  points: tf.Tensor3D,
  H: number,
  W: number,
  padding: Padding = "border",
): tf.Tensor3D {
  const [N, h, w, C] = map.shape;
  const [Np, n, two] = points.shape;
  if (Np !== N || two !== 2) {
    throw new Error(`sampleAtPoints: expected points [${N},n,2] for a map [${map.shape}], got [${points.shape}]`);
  }
  const R = N * n;
  const taps = bilinearTaps(points.dataSync(), N, n, h, w, H, W, padding);
  return tf.tidy(() => {
    const sample = tf.customGrad((...args) => {
      const [m, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
      const indices = tf.tensor1d(taps.indices, "int32"); // [4R]
      const weights = tf.tensor2d(taps.weights, [4 * R, 1]); // [4R,1]
      // The tape keeps saved tensors for the backward pass (the tidy around this op frees the rest).
      save([indices, weights]);
      // [4R,C] tap values -> weighted sum of the four taps of each point -> [R,C]
      const value = tf.sum(tf.reshape(tf.mul(tf.gather(m, indices), weights), [4, R, C]), 0);
      const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [idx, wts] = saved;
        // [1,R,C] x [4,R,1] -> [4R,C]: a broadcast product (a tile of dy is several times slower on wasm)
        const contributions = tf.reshape(tf.mul(tf.reshape(dy, [1, R, C]), tf.reshape(wts, [4, R, 1])), [4 * R, C]);
        return [tf.scatterND(tf.reshape(idx, [4 * R, 1]), contributions, [N * h * w, C])];
      };
      return { value, gradFunc };
    });
    return tf.reshape(sample(tf.reshape(map, [N * h * w, C]) as tf.Tensor2D), [N, n, C]) as tf.Tensor3D;
  });
}
