// Differentiable bilinear sampling of dense maps at the (constant) correspondence points.
//
// Convention (lib/eval/sampling.ts, and the release's grid_sample(align_corners=False) on points
// normalised by (W-1, H-1)): a point (x, y) in pixels of an H x W image reads map pixel
//   u = x / (W-1) * w - 0.5,   v = y / (H-1) * h - 0.5.
// "border" clamps (u, v) into the map before interpolating (the release samples descriptors and
// attention with padding_mode="border"); "zeros" lets taps outside the map read 0.
//
// The points carry no gradient, so the bilinear weights are constants: they are built in JS as a
// dense matrix Wt [N,n,h*w] (at most 4 non-zeros a row) and the samples are Wt @ map [N,h*w,C].
// The gradient w.r.t. the map is then the plain matMul gradient Wt^T @ dy, which every backend has
// (a gather's gradient would need UnsortedSegmentSum). Cost: N*n*h*w floats for Wt and as many
// multiply-adds per channel, e.g. 24 images x 400 points x 100x100 cells = 384 MB; sample fewer
// points or shard the batch if that is too much.
import * as tf from "@tensorflow/tfjs";

export type Padding = "border" | "zeros";

/** The constant bilinear weight matrix [N, n, h*w] for points [N,n,2] (x, y) of an H x W image. */
export function bilinearWeights(
  points: ArrayLike<number>,
  N: number,
  n: number,
  h: number,
  w: number,
  H: number,
  W: number,
  padding: Padding,
): Float32Array {
  const out = new Float32Array(N * n * h * w);
  const sx = w / Math.max(1, W - 1);
  const sy = h / Math.max(1, H - 1);
  for (let r = 0; r < N * n; r++) {
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
    const row = r * h * w;
    const tap = (x: number, y: number, wt: number) => {
      // Out-of-map taps read 0 (only reachable with "zeros"; with "border" their weight is 0).
      if (x < 0 || y < 0 || x >= w || y >= h || wt === 0) return;
      out[row + y * w + x] += wt;
    };
    tap(x0, y0, (1 - fx) * (1 - fy));
    tap(x0 + 1, y0, fx * (1 - fy));
    tap(x0, y0 + 1, (1 - fx) * fy);
    tap(x0 + 1, y0 + 1, fx * fy);
  }
  return out;
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
  const weights = bilinearWeights(points.dataSync(), N, n, h, w, H, W, padding);
  return tf.tidy(() => {
    const wt = tf.tensor3d(weights, [N, n, h * w]);
    return tf.matMul(wt, tf.reshape(map, [N, h * w, C]) as tf.Tensor3D); // [N,n,C]
  });
}
