import { test } from "node:test";
import assert from "node:assert/strict";
import type { RgbImage } from "../../lib/data/image";
import type { TeacherOutput } from "../../lib/teachers/teacher";
import { edgeImage, embeddingPcaImage, labelColour, maskOverlay, principalProjections, teacherPanel } from "../../lib/teachers/visualize";

// 16x16 image, grey 100; groups: left half 1, right half 2, top-left 4x4 corner uncovered (0).
function fixture(): { img: RgbImage; out: TeacherOutput } {
  const W = 16, H = 16;
  const img: RgbImage = { width: W, height: H, data: new Uint8Array(W * H * 3).fill(100) };
  const groups = Int32Array.from({ length: W * H }, (_, p) => (p % W < 4 && p < 4 * W ? 0 : p % W < 8 ? 1 : 2));
  const edges = Float32Array.from({ length: W * H }, (_, p) => (p % W) / (W - 1));
  // 2x2 embedding grid: left cells along e0, right cells along e1 (3 channels).
  const embedding = Float32Array.from([1, 0, 0, 0, 2, 0, 1, 0, 0, 0, 2, 0]);
  return { img, out: { height: H, width: W, groups, edges, embedding, embeddingShape: [2, 2, 3] } };
}

test("mask overlay: groups tinted by colour, uncovered pixels dimmed, boundaries white", () => {
  const { img, out } = fixture();
  const o = maskOverlay(img, out, { alpha: 0.5 });
  assert.equal(o.data.length, 16 * 16 * 3);
  const px = (x: number, y: number) => [...o.data.subarray(3 * (y * 16 + x), 3 * (y * 16 + x) + 3)];
  assert.deepEqual(px(0, 0), [40, 40, 40]); // 0.4 * 100
  const c1 = labelColour(1);
  assert.deepEqual(px(1, 10), c1.map((c) => Math.round(50 + c / 2)));
  assert.deepEqual(px(7, 10), [255, 255, 255]); // left of the 1|2 boundary
  assert.deepEqual(px(8, 10), [255, 255, 255]); // right of it
  assert.notDeepEqual(labelColour(1), labelColour(2));
  assert.throws(() => maskOverlay({ ...img, width: 8 }, out), /image is 8x16, teacher output 16x16/);
});

test("edge image: grey level 255 * edge strength", () => {
  const { out } = fixture();
  const e = edgeImage(out);
  assert.deepEqual([...e.data.subarray(0, 3)], [0, 0, 0]);
  assert.deepEqual([...e.data.subarray(3 * 15, 3 * 16)], [255, 255, 255]);
  assert.equal(e.data[3 * 5], Math.round((255 * 5) / 15));
});

test("principal projections: the first component follows the direction of largest spread", () => {
  // Points t*(1,1,0)/sqrt2 + small noise along z.
  const n = 50;
  const x = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    const t = i - 25;
    x.set([t / Math.SQRT2 + 3, t / Math.SQRT2 - 1, 0.01 * Math.sin(i)], 3 * i);
  }
  const proj = principalProjections(x, n, 3, 2);
  // Centred, point i lies at t = i - 24.5 along that direction (the mean of i - 25 is -0.5); the sign is arbitrary.
  for (let i = 0; i < n; i++) assert.ok(Math.abs(Math.abs(proj[2 * i]) - Math.abs(i - 24.5)) < 1e-3, `point ${i}`);
});

test("embedding PCA image: cells with the same direction share a colour, scaled up to the requested size", () => {
  const { out } = fixture();
  const grid = embeddingPcaImage(out);
  assert.equal(grid.width, 2);
  assert.equal(grid.height, 2);
  const cell = (i: number) => [...grid.data.subarray(3 * i, 3 * i + 3)];
  // Norms differ (1 vs 2) but directions match: cells are normalised first.
  assert.deepEqual(cell(0), cell(2));
  assert.deepEqual(cell(1), cell(3));
  assert.notDeepEqual(cell(0), cell(1));
  const big = embeddingPcaImage(out, { width: 16, height: 16 });
  assert.deepEqual([...big.data.subarray(3 * (15 * 16 + 15), 3 * (15 * 16 + 16))], cell(3));
  assert.deepEqual([...big.data.subarray(0, 3)], cell(0));
  // Panel: three 16-wide images with two 8-pixel gaps.
  assert.equal(teacherPanel(fixture().img, out).width, 16 * 3 + 16);
});
