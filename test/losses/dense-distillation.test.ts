import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initEngine } from "../../lib/engine";
import { sampleDescriptors, SampledDescriptors } from "../../lib/losses/descriptor";
import { denseDistillationFromSamples, denseDistillationLoss, RegularizerForm } from "../../lib/losses/dense-distillation";
import { makeOutputs, makeTargets, randomPositive, randomValues, unit, value } from "./samfeat-helpers";

before(async () => {
  await initEngine({ backend: "cpu", quiet: true });
});

const FORMS: RegularizerForm[] = ["abs", "square", "hinge"];

/** SampledDescriptors from unit vectors at `deg` [2B][n] (padded with zeros to `dim`), scaled by the attention `w` [2B][n]. */
function sampled(deg: number[][], w: number[][], dim = 2): SampledDescriptors {
  const x = deg.flatMap((row, r) => row.flatMap((d, i) => [...unit(d).map((v) => v * w[r][i]), ...new Array(dim - 2).fill(0)]));
  return { x: tf.tensor3d(x, [deg.length, deg[0].length, dim]), w: tf.tensor2d(w.flat(), [w.length, w[0].length]) };
}

// B = 2 pairs of n = 4 correspondences, 2-D descriptors given by their angle (the teacher's are 3-D
// with a zero third component: teacher and student may differ in size). Rows of [2B,n,D]: 0 pair 0
// view 0, 1 pair 1 view 0, 2 pair 0 view 1, 3 pair 1 view 1. The attention (x = w · unit) is 0.5 in
// first views and 3 in second views: cosines, hence the regulariser, do not see it.
//   pair 0: valid [1,0,1,0]: only points 0 and 2 take part (a pair of m = 2).
//     student a = 0, 90 deg, p = 50, 100;  teacher a = 0, 90, p = 20, 80.
//     Mining (student L2 on unit vectors = angle order), anchor swap:
//       pair i=0: row a0-p2 100 deg, column p0-a2 40 deg -> (a2, p0);  i=2: row a2-p0 40, column p2-a0 100 -> (a2, p0).
//     s+ = cos 50, cos 10 = 0.642788, 0.984808; s- = cos 40 twice = 0.766044
//     t+ = cos 20, cos 10 = 0.939693, 0.984808; t- = angle(a2 90, p0 20) = cos 70 = 0.342020
//     abs = (0.296905 + 0.424024 + 0 + 0.424024) / 2 = 0.572477; square = (0.088153 + 0.179796 + 0 + 0.179796) / 2 = 0.223873
//     hinge = (max(0, t+ - s+) + max(0, s- - t-)) summed / 2 = (0.296905 + 0.424024 + 0 + 0.424024) / 2 = 0.572477
//     (Its invalid points 1 and 3, 45 deg in both views and 300/10 deg, would otherwise be the hardest negatives.)
//   pair 1: valid [1,1,1,0]; points 0 and 1 lie within the not-search radius of each other.
//     student a = 0, 40, 180, p = 10, 60, 200;  teacher a = 0, 40, 180, p = 30, 30, 170.
//     i=0: row a0: p1 excluded, p2 160 deg; column p0: a1 excluded, a2 170 -> (a0, p2)
//     i=1: row a1: p0 excluded, p2 160; column p1: a0 excluded, a2 120 -> (a2, p1)
//     i=2: row a2: p0 170, p1 120; column p2: a0 160, a1 160 -> (a2, p1)
//     (Without the exclusion pair i=0 would take (a1, p0), 30 deg.)
//     s+ = cos 10, cos 20, cos 20; s- = cos 160, cos 120, cos 120
//     t+ = cos 30, cos 10, cos 10; t- = cos 170 (a0 0, p2 170), cos 150 (a2 180, p1 30) twice
//     abs = (0.118783 + 0.045115 + 0.045115 + 0.366025 + 0.045115 + 0.366025) / 3 = 0.328726
//     square = (0.014109 + 0.002035 + 0.002035 + 0.133975 + 0.002035 + 0.133975) / 3 = 0.096055
//     hinge = (0 + 0.045115 + 0.045115 + 0.366025 + 0.045115 + 0.366025) / 3 = 0.289132
//     Point 3 (invalid, 5 and 15 deg) would be pair 0's hardest negative (15 deg) if it took part.
//   mean over the two pairs: abs 0.450601, square 0.159964, hinge 0.430804.
const STUDENT = [
  [0, 45, 90, 300],
  [0, 40, 180, 5],
  [50, 45, 100, 10],
  [10, 60, 200, 15],
];
const TEACHER = [
  [0, 45, 90, 300],
  [0, 40, 180, 5],
  [20, 45, 80, 10],
  [30, 30, 170, 15],
];
const ATTENTION = [new Array(4).fill(0.5), new Array(4).fill(0.5), new Array(4).fill(3), new Array(4).fill(3)];

function handTargets() {
  // Not-search: the identity, plus points 0 and 1 of pair 1 within the radius of each other.
  const eye = (extra: [number, number][]) => Array.from({ length: 16 }, (_, k) => (Math.floor(k / 4) === k % 4 || extra.some(([i, j]) => i * 4 + j === k) ? 1 : 0));
  return makeTargets({ B: 2, H: 16, W: 16, n: 4, points: new Array(2 * 2 * 4 * 2).fill(8), valid: [1, 0, 1, 0, 1, 1, 1, 0], notSearch: [...eye([]), ...eye([[0, 1], [1, 0]])] });
}

function disposeTargets(t: ReturnType<typeof makeTargets>): void {
  tf.dispose(Object.values(t).filter((v): v is tf.Tensor => v instanceof tf.Tensor));
}

test("dense distillation: the three forms on a hand case (per pair, valid points only, not-search neighbours never mined)", () => {
  const targets = handTargets();
  const s = sampled(STUDENT, ATTENTION);
  const t = sampled(TEACHER, ATTENTION, 3);
  const expected: Record<RegularizerForm, number> = { abs: 0.450601, square: 0.159964, hinge: 0.430804 };
  for (const form of FORMS) {
    const v = value(denseDistillationFromSamples(s, t, targets, { form }));
    assert.ok(Math.abs(v - expected[form]) < 1e-5, `${form}: ${v}, expected ${expected[form]}`);
  }
  tf.dispose([s.x, s.w, t.x, t.w]);
  disposeTargets(targets);
});

test("dense distillation: zero when student and teacher descriptors are equal; the teacher gets no gradient", () => {
  const B = 2, n = 6, D = 5;
  const targets = makeTargets({ B, H: 16, W: 16, n, points: new Array(2 * B * n * 2).fill(8), valid: [1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 0] });
  const x = tf.tensor3d(randomValues(2 * B * n * D, 7), [2 * B, n, D]);
  const w = tf.tensor2d(randomPositive(2 * B * n, 8), [2 * B, n]);
  for (const form of FORMS) assert.equal(value(denseDistillationFromSamples({ x, w }, { x, w }, targets, { form })), 0, form);

  const tx = tf.tensor3d(randomValues(2 * B * n * 3, 9), [2 * B, n, 3]);
  const [gs, gt] = tf.grads((a: tf.Tensor, b: tf.Tensor) => denseDistillationFromSamples({ x: a as tf.Tensor3D, w }, { x: b as tf.Tensor3D, w }, targets, { form: "square" }))([x, tx]);
  assert.ok(tf.max(tf.abs(gs)).dataSync()[0] > 0, "the student gets a gradient");
  assert.equal(tf.max(tf.abs(gt)).dataSync()[0], 0, "the teacher gets none");
  // Invalid correspondences (pair 0 point 3, pair 1 point 5, in both views) get no gradient either.
  const g = gs.arraySync() as number[][][];
  for (const [row, i] of [[0, 3], [2, 3], [1, 5], [3, 5]]) assert.ok(g[row][i].every((v) => v === 0), `row ${row} point ${i}`);
  tf.dispose([x, w, tx, gs, gt]);
  disposeTargets(targets);
});

test("dense distillation: from network outputs it is the regulariser of the sampled descriptors; a pair with fewer than 2 valid points is left out", () => {
  const B = 2, n = 5, H = 16, W = 16;
  const points = Array.from(randomPositive(2 * B * n * 2, 11, 1, 14));
  const valid = [1, 1, 1, 1, 1, 0, 0, 1, 0, 0]; // pair 1 has a single valid point
  const targets = makeTargets({ B, H, W, n, points, valid });
  const desc = (seed: number) => tf.tensor4d(randomValues(2 * B * 4 * 4 * 3, seed), [2 * B, 4, 4, 3]);
  const student = makeOutputs(B, H, W, { descriptors: desc(21), attention: tf.tensor4d(randomPositive(2 * B * 16, 22), [2 * B, 4, 4, 1]) });
  const teacher = makeOutputs(B, H, W, { descriptors: desc(23) });
  const s = sampleDescriptors(student, targets);
  const t = sampleDescriptors(teacher, targets);
  // Pair 1 alone would be skipped: the mean is pair 0's value.
  const onlyPair0 = makeTargets({ B, H, W, n, points, valid: [1, 1, 1, 1, 1, 0, 0, 0, 0, 0] });
  for (const form of FORMS) {
    const v = value(denseDistillationLoss(student, teacher, targets, { form }));
    assert.ok(v > 0 && Math.abs(v - value(denseDistillationFromSamples(s, t, targets, { form }))) < 1e-7, `${form}: ${v}`);
    assert.ok(Math.abs(v - value(denseDistillationFromSamples(s, t, onlyPair0, { form }))) < 1e-7, `${form}: pair 1 left out`);
    assert.equal(value(denseDistillationLoss(student, student, targets, { form })), 0);
  }
  const none = makeTargets({ B, H, W, n, points, valid: new Array(B * n).fill(0) });
  assert.equal(value(denseDistillationFromSamples(s, t, none, { form: "abs" })), 0);
  assert.throws(() => denseDistillationFromSamples(s, { x: tf.zeros([2 * B, n + 1, 3]), w: t.w }, targets, { form: "abs" }), /must both be \[2B,n,D\]/);
  tf.dispose([s.x, s.w, t.x, t.w, ...Object.values(student), ...Object.values(teacher)]);
  for (const tg of [targets, onlyPair0, none]) disposeTargets(tg);
});
