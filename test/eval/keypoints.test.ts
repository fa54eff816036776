import { test } from "node:test";
import assert from "node:assert/strict";
import { detectKeypoints } from "../../lib/eval/keypoints";
import { sampleBilinear } from "../../lib/eval/sampling";

// 12 x 10 map with five peaks
function map(): Float32Array {
  const W = 12, m = new Float32Array(W * 10);
  const set = (x: number, y: number, v: number) => (m[y * W + x] = v);
  set(5, 5, 0.99); // strongest
  set(6, 6, 0.95); // within radius 2 of (5,5): suppressed
  set(9, 5, 0.93); // 4 px away: kept
  set(1, 4, 0.97); // inside the 2-px border: dropped, yet it still suppresses (2,4)
  set(2, 4, 0.94);
  set(5, 8, 0.5); // below threshold
  return m;
}

test("threshold, NMS radius and border margin, strongest first", () => {
  const d = detectKeypoints(map(), 12, 10, { threshold: 0.9, nmsRadius: 2, border: 2 });
  assert.deepEqual(Array.from(d.keypoints), [5, 5, 9, 5]);
  assert.deepEqual(Array.from(d.scores), [Math.fround(0.99), Math.fround(0.93)]);
});

test("without NMS every pixel above threshold away from the border is kept; top-k cuts by score", () => {
  const d = detectKeypoints(map(), 12, 10, { threshold: 0.9, nmsRadius: 0, border: 2 });
  assert.deepEqual(Array.from(d.keypoints), [5, 5, 6, 6, 2, 4, 9, 5]);
  const top = detectKeypoints(map(), 12, 10, { threshold: 0.9, nmsRadius: 0, border: 2, topK: 2 });
  assert.deepEqual(Array.from(top.keypoints), [5, 5, 6, 6]);
});

test("bilinear descriptor sampling follows grid_sample(align_corners=False) on (x/(W-1), y/(H-1))", () => {
  // 4 x 2 map, 2 channels: channel 0 = column index, channel 1 = 10 * row index
  const w = 4, h = 2;
  const data = new Float32Array(w * h * 2);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set([x, 10 * y], (y * w + x) * 2);
  // image 17 x 9 (W-1 = 16, H-1 = 8): map coordinate u = x/16*4 - 0.5, v = y/8*2 - 0.5
  // (x, y) = (6, 4) -> (u, v) = (1.0, 0.5): channel 0 = 1, channel 1 = 5
  // (x, y) = (8, 2) -> (1.5, 0.0): 1.5 and 0
  // (x, y) = (0, 0) -> (-0.5, -0.5): only tap (0,0) in range, weight 0.25 -> (0, 0)
  // (x, y) = (16, 8) -> (3.5, 1.5): only tap (3,1), weight 0.25 -> (0.75, 2.5)
  const out = sampleBilinear({ width: w, height: h, channels: 2, data }, [6, 4, 8, 2, 0, 0, 16, 8], 17, 9);
  assert.deepEqual(Array.from(out), [1, 5, 1.5, 0, 0, 0, 0.75, 2.5]);
});
