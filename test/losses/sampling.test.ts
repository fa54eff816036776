import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { sampleBilinear } from "../../lib/eval/sampling";
import { sampleAtPoints } from "../../lib/losses/sampling";
import { checkGradient, randomValues } from "./samfeat-helpers";

before(async () => {
  await tf.setBackend("cpu");
});

test("a worked case: cell centres, a midpoint, and a point outside the image under both paddings", () => {
  // Map 2x2 (values 0, 1 / 2, 3, one channel) on a 9x9 image: u = x/8*2 - 0.5 = x/4 - 0.5.
  //   (2,2) -> (u,v) = (0,0): 0.   (6,6) -> (1,1): 3.   (4,2) -> (0.5, 0): (0+1)/2 = 0.5.
  //   (-2,6) -> (u,v) = (-1, 1): border clamps u to 0 -> map[row 1][col 0] = 2;
  //   zeros: taps x=-1 (weight 1, outside, reads 0) and x=0 (weight 0) -> 0.
  const map = tf.tensor4d([0, 1, 2, 3], [1, 2, 2, 1]);
  const pts = tf.tensor3d([2, 2, 6, 6, 4, 2, -2, 6], [1, 4, 2]);
  assert.deepEqual(Array.from(sampleAtPoints(map, pts, 9, 9, "border").dataSync()), [0, 3, 0.5, 2]);
  assert.deepEqual(Array.from(sampleAtPoints(map, pts, 9, 9, "zeros").dataSync()), [0, 3, 0.5, 0]);
  // Half outside: (0,6) -> (u,v) = (-0.5, 1): zeros reads 0.5*0 + 0.5*map[1][0] = 1; border clamps to map[1][0] = 2.
  const half = tf.tensor3d([0, 6], [1, 1, 2]);
  assert.deepEqual(Array.from(sampleAtPoints(map, half, 9, 9, "zeros").dataSync()), [1]);
  assert.deepEqual(Array.from(sampleAtPoints(map, half, 9, 9, "border").dataSync()), [2]);
});

test("equals lib/eval/sampling sampleBilinear on random maps and points, both paddings", () => {
  const [N, h, w, C, n, H, W] = [3, 5, 7, 4, 40, 20, 28];
  const mapValues = randomValues(N * h * w * C, 1);
  // Points spread over [-3, W+2] x [-3, H+2]: inside, on the border band and outside.
  const r = randomValues(N * n * 2, 2);
  const pts = r.map((v, k) => (k % 2 === 0 ? ((v + 1) / 2) * (W + 5) - 3 : ((v + 1) / 2) * (H + 5) - 3));
  const map = tf.tensor4d(mapValues, [N, h, w, C]);
  const points = tf.tensor3d(pts, [N, n, 2]);
  for (const padding of ["border", "zeros"] as const) {
    const got = sampleAtPoints(map, points, H, W, padding).dataSync();
    let maxErr = 0;
    for (let b = 0; b < N; b++) {
      const ref = sampleBilinear(
        { width: w, height: h, channels: C, data: mapValues.subarray(b * h * w * C, (b + 1) * h * w * C) },
        pts.subarray(b * n * 2, (b + 1) * n * 2),
        W,
        H,
        padding,
      );
      for (let k = 0; k < n * C; k++) maxErr = Math.max(maxErr, Math.abs(got[b * n * C + k] - ref[k]));
    }
    assert.ok(maxErr < 1e-6, `${padding}: max error ${maxErr}`);
  }
  tf.dispose([map, points]);
});

test("gradient w.r.t. the map matches finite differences", () => {
  const map = tf.tensor4d(randomValues(2 * 3 * 4 * 2, 3), [2, 3, 4, 2]);
  const points = tf.tensor3d(randomValues(2 * 5 * 2, 4).map((v) => (v + 1) * 8), [2, 5, 2]);
  const readout = tf.tensor3d(randomValues(2 * 5 * 2, 5), [2, 5, 2]);
  const f = (x: Record<string, tf.Tensor>) =>
    tf.tidy(() => tf.sum(tf.mul(tf.square(sampleAtPoints(x.map as tf.Tensor4D, points, 16, 16, "border")), readout)) as tf.Scalar);
  checkGradient(f, { map });
});
