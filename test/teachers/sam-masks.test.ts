// SAM's automatic mask generator on hand-made masks: no model involved.
import { test } from "node:test";
import assert from "node:assert/strict";
import { boxIou, boxNms, cropMask, generateMasks, paintLabelMap, pointGrid, PromptMasks, stabilityScore } from "../../lib/teachers/sam-masks";

test("point grid: cell centres of an n x n grid, row by row", () => {
  assert.deepEqual(pointGrid(4, 48, 64).slice(0, 5), [[8, 6], [24, 6], [40, 6], [56, 6], [8, 18]]);
  assert.deepEqual(pointGrid(1, 10, 20), [[10, 5]]);
});

test("stability score: |logits > 1| / |logits > -1|, strict on both sides, 0 when nothing is above -1", () => {
  // 4 logits above 1 (1 itself is not), 7 above -1.
  assert.equal(stabilityScore(Float32Array.from([3, 2, 1.5, 1.01, 1, 0, -0.5, -1, -2]), 0, 1), 4 / 7);
  assert.equal(stabilityScore(Float32Array.from([-3, -2]), 0, 1), 0);
});

test("box IoU and greedy NMS", () => {
  // [0,0,10,10] vs [5,0,15,10]: intersection 5*10, union 100+100-50.
  assert.equal(boxIou([0, 0, 10, 10], [5, 0, 15, 10]), 50 / 150);
  assert.equal(boxIou([0, 0, 1, 1], [2, 2, 3, 3]), 0);
  // Box 1 overlaps box 0 (worse score) by 0.9 > 0.7, so box 0 goes; box 2 overlaps box 1 by 45/145 and stays.
  assert.deepEqual(boxNms([[0, 0, 10, 10], [0, 0, 10, 9], [5, 0, 15, 10]], [0.9, 0.95, 0.8], 0.7), [1, 2]);
});

test("cropping and painting: the bounding box of the logits above 0; the smallest mask painted last", () => {
  // Logits of a 3x4 image: a 2x2 blob at x 1-2, y 0-1 missing its top-left pixel.
  const logits = Float32Array.from([-1, -1, 2, -1, -1, 3, 0.5, -1, -1, -1, -1, -1]);
  const blob = cropMask(logits, 3, 4, 0);
  assert.deepEqual(blob.box, [1, 0, 2, 1]);
  assert.equal(blob.area, 3);
  assert.deepEqual([...blob.data], [0, 1, 1, 1]);
  assert.deepEqual(cropMask(new Float32Array(12).fill(-5), 3, 4, 0), { box: [0, 0, 0, 0], area: 0, data: new Uint8Array(0) });
  // The whole image (area 12) is painted first, the blob (area 3) on top of it, whatever the input order.
  const whole = cropMask(new Float32Array(12).fill(1), 3, 4, 0);
  const expected = [1, 1, 2, 1, 1, 2, 2, 1, 1, 1, 1, 1];
  assert.deepEqual([...paintLabelMap([blob, whole], 3, 4)], expected);
  assert.deepEqual([...paintLabelMap([whole, blob], 3, 4)], expected);
});

// Hand-made masks on a 6x8 image: logits +-10 (stable) or +-0.5 (unstable) on a rectangle.
const H = 6, W = 8;
function rect(x0: number, y0: number, x1: number, y1: number, level = 10): Float32Array {
  const m = new Float32Array(H * W).fill(-level);
  for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) m[y * W + x] = level;
  return m;
}
function masks(...entries: [Float32Array, number][]): PromptMasks {
  const logits = new Float32Array(entries.length * H * W);
  entries.forEach(([m], i) => logits.set(m, i * H * W));
  return { logits, iou: entries.map(([, iou]) => iou), count: entries.length };
}

test("generator: predicted IoU must exceed 0.88, stability reach 0.95; duplicates collapse to the best-scored box", async () => {
  const prompted: [number, number][] = [];
  const result = await generateMasks(
    async (x, y) => {
      prompted.push([x, y]);
      const left = x < W / 2;
      return masks(
        [rect(0, 0, 2, 2), left ? 0.9 : 0.95], // the same square from both prompts: NMS keeps the 0.95 one
        [rect(4, 3, 7, 5), 0.88], // IoU not above 0.88: dropped
        [rect(3, 0, 7, 5, 0.5), 0.99], // logits within +-1 everywhere: stability 0, dropped
        ...(left ? [[rect(5, 0, 7, 1), 0.97] as [Float32Array, number]] : []),
      );
    },
    H,
    W,
    { pointsPerSide: 2 },
  );
  assert.deepEqual(prompted, [[2, 1.5], [6, 1.5], [2, 4.5], [6, 4.5]]);
  // 4 prompts; left ones give 4 candidates, right ones 3.
  assert.deepEqual(result.stats, { prompts: 4, candidates: 14, afterIou: 10, afterStability: 6, afterNms: 2 });
  // Best predicted IoU first: the small right square (0.97), then the left square from a right prompt (0.95).
  assert.deepEqual(result.masks.map((m) => m.box), [[5, 0, 7, 1], [0, 0, 2, 2]]);
  assert.deepEqual(result.masks.map((m) => m.area), [6, 9]);
});

test("generator: thresholds are options; a prompt returning the wrong number of logits is an error", async () => {
  const loose = await generateMasks(async () => masks([rect(3, 0, 7, 5, 0.5), 0.5]), H, W, {
    pointsPerSide: 1,
    predIouThresh: 0.1,
    stabilityScoreThresh: 0,
  });
  assert.deepEqual(loose.masks.map((m) => m.box), [[3, 0, 7, 5]]);
  await assert.rejects(
    generateMasks(async () => ({ logits: new Float32Array(5), iou: [0.99], count: 1 }), H, W, { pointsPerSide: 1 }),
    /5 logits for 1 masks of 8x6/,
  );
});
