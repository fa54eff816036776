import { test } from "node:test";
import assert from "node:assert/strict";
import { drawLabels, heatmapImage } from "../../lib/labels/visualize";

const img = { width: 20, height: 10, data: new Uint8Array(20 * 10 * 3).fill(100) };
const labels = { width: 20, height: 10, points: Float32Array.from([5, 5, 15, 2]), scores: Float32Array.from([0.9, 0.2]) };

test("drawLabels: crosses at the points over a dimmed image; dots fill a square; sizes must match", () => {
  const out = drawLabels(img, labels);
  assert.equal(out.width, 20);
  assert.equal(out.height, 10);
  assert.equal(out.data.length, 600);
  const px = (o: { data: Uint8Array }, x: number, y: number) => Array.from(o.data.subarray(3 * (y * 20 + x), 3 * (y * 20 + x) + 3));
  assert.deepEqual(px(out, 5, 5), [0, 255, 0]);
  assert.deepEqual(px(out, 7, 5), [0, 255, 0]);
  assert.deepEqual(px(out, 5, 3), [0, 255, 0]);
  assert.deepEqual(px(out, 6, 6), [60, 60, 60]); // off the cross arms: dimmed image
  assert.deepEqual(px(out, 15, 0), [0, 255, 0]); // clipped at the border
  const dots = drawLabels(img, labels, { style: "dot", radius: 1, colour: [255, 0, 0] });
  assert.deepEqual(px(dots, 6, 6), [255, 0, 0]);
  const byScore = drawLabels(img, labels, { colourByScore: true });
  assert.deepEqual(px(byScore, 5, 5), [0, 255, 0]);
  assert.deepEqual(px(byScore, 15, 2), [255, 40, 0]);
  assert.throws(() => drawLabels({ ...img, width: 10, data: new Uint8Array(300) }, labels), /10x10/);
});

test("heatmapImage: zero is black, the max is white", () => {
  const map = new Float32Array(200);
  map[7] = 2;
  const out = heatmapImage(map, 20, 10);
  assert.deepEqual(Array.from(out.data.subarray(0, 3)), [0, 0, 0]);
  assert.deepEqual(Array.from(out.data.subarray(21, 24)), [255, 255, 255]);
});
