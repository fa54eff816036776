// The component views' arithmetic against values worked out by hand: cosine relation rows, PSRD's
// relation gap, within/across-group descriptor similarity, and the two resamplings.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { DenseMap, downsampleMean, groupSeparation, relationMatrixGap, relationRow, resampleNearest } from "../../lib/plots/components";

before(async () => {
  await tf.setBackend("cpu");
});

const map = (width: number, height: number, channels: number, values: number[]): DenseMap => ({ width, height, channels, data: Float32Array.from(values) });
const close = (a: ArrayLike<number>, b: number[], tol = 1e-6) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol, `[${i}] ${a[i]} vs ${b[i]}`);
};

test("relationRow: the cosine of the anchor cell with every cell", () => {
  // Cells (1,0), (1,1), (0,-2), (0,0): cosines with cell 0 are 1, 1/√2, 0, and 0 for the zero vector.
  const m = map(2, 2, 2, [1, 0, 1, 1, 0, -2, 0, 0]);
  close(relationRow(m, 0), [1, Math.SQRT1_2, 0, 0]);
  close(relationRow(m, 1), [Math.SQRT1_2, 1, -Math.SQRT1_2, 0]);
  assert.throws(() => relationRow(m, 4), /anchor 4 outside the 2x2 map/);
});

test("relationMatrixGap: 0 up to a positive per-cell scale; mean |R_a − R_b| by hand otherwise", () => {
  const a = map(2, 1, 2, [1, 0, 0, 1]); // R_a = [[1,0],[0,1]]
  const scaled = map(2, 1, 2, [3, 0, 0, 0.5]);
  assert.ok(relationMatrixGap(a, scaled) < 1e-6);
  const b = map(2, 1, 2, [1, 0, 2, 0]); // R_b = all ones: |diff| = [0,1,1,0], mean 0.5
  assert.ok(Math.abs(relationMatrixGap(a, b) - 0.5) < 1e-6);
  assert.throws(() => relationMatrixGap(a, map(1, 2, 2, [1, 0, 0, 1])), /grids 1x2 and 2x1 differ/);
});

test("groupSeparation: mean cosine within and across teacher groups, uncovered pixels left out", () => {
  // 2x2 descriptor cells over a 4x4 image; cell centres fall on pixels (1,1), (3,1), (1,3), (3,3).
  const d = map(2, 2, 2, [1, 0, 1, 1, 0, 1, 5, 0]);
  const groups = new Int32Array(16);
  const label = (x: number, y: number, l: number) => (groups[y * 4 + x] = l);
  label(1, 1, 1); // cell 0 in group 1
  label(3, 1, 2); // cell 1 in group 2
  label(1, 3, 2); // cell 2 in group 2
  label(3, 3, 0); // cell 3 uncovered
  const s = groupSeparation(d, groups, 4, 4, 1);
  // within: cells 1 and 2, cos((1,1),(0,1)) = 1/√2; across: (0,1) = 1/√2 and (0,2) = 0
  assert.deepEqual(s.pairs, { within: 1, across: 2 });
  assert.ok(Math.abs(s.within - Math.SQRT1_2) < 1e-6);
  assert.ok(Math.abs(s.across - Math.SQRT1_2 / 2) < 1e-6);
});

test("downsampleMean averages boxes; resampleNearest repeats cells", () => {
  const v = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]); // 4x4
  close(downsampleMean(v, 4, 4, 2, 2), [(1 + 2 + 5 + 6) / 4, (3 + 4 + 7 + 8) / 4, (9 + 10 + 13 + 14) / 4, (11 + 12 + 15 + 16) / 4]);
  const up = resampleNearest(map(2, 1, 2, [1, 2, 3, 4]), 4, 2);
  assert.deepEqual([up.width, up.height, up.channels], [4, 2, 2]);
  close(up.data, [1, 2, 1, 2, 3, 4, 3, 4, 1, 2, 1, 2, 3, 4, 3, 4]);
});
