import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initEngine } from "../../lib/engine";
import { choiceIndices } from "../../lib/losses/patch-mining";
import { pairSimilarities, RegularizerForm, teacherStudentRegularizer } from "../../lib/losses/teacher-student";
import { checkGradients, randomValues, unitVectors, scalarValue } from "./patch-helpers";

before(async () => {
  await initEngine({ backend: "cpu", quiet: true });
});

const value = scalarValue;

// Three pairs of 2-D unit vectors (cosine = cos of the angle between them):
//   student a = 0, 90, 200 deg, p = 30, 100, 230 deg;  teacher a = 0, 90, 200 deg, p = 10, 150, 180 deg.
// Student's hardest negatives (HardNet mining with anchor swap on the student's distances):
//   pair 0: row a0: p1 100 deg, p2 130; column p0: a1 60 deg, a2 170 -> (a1, p0), flat 1*3+0 = 3
//   pair 1: row a1: p0 60 deg, p2 140; column p1: a0 100, a2 100 -> (a1, p0), flat 3
//   pair 2: row a2: p0 170, p1 100 deg; column p2: a0 130, a1 140 -> (a2, p1), flat 2*3+1 = 7
// (The teacher would mine (a2, p1) for pair 1, 50 deg apart in its space: the student's choice is used.)
// Similarities:
//   student s+ = cos 30, cos 10, cos 30 = 0.866025, 0.984808, 0.866025
//   student s- = cos 60 (a1,p0), cos 60, cos 100 (a2,p1) = 0.5, 0.5, -0.173648
//   teacher s+ = cos 10, cos 60, cos 20 = 0.984808, 0.5, 0.939693
//   teacher s- = cos 80 (a1,p0), cos 80, cos 50 (a2,p1) = 0.173648, 0.173648, 0.642788
// abs:    (0.118783 + 0.326352) + (0.484808 + 0.326352) + (0.073667 + 0.816436) = 2.146398 / 3 = 0.715466
// square: (0.014109 + 0.106506) + (0.235039 + 0.106506) + (0.005427 + 0.666567) = 1.134154 / 3 = 0.378051
// hinge:  max(0, T+ - S+) + max(0, S- - T-):
//         (0.118783 + 0.326352) + (0 + 0.326352) + (0.073667 + 0) = 0.845154 / 3 = 0.281718
test("teacher-student regulariser: the three forms on a hand case; negatives mined by the student", () => {
  const sa = unitVectors([0, 90, 200]);
  const sp = unitVectors([30, 100, 230]);
  const ta = unitVectors([0, 90, 200]);
  const tp = unitVectors([10, 150, 180]);
  const expected: Record<RegularizerForm, number> = { abs: 0.715466, square: 0.378051, hinge: 0.281718 };
  for (const form of ["abs", "square", "hinge"] as RegularizerForm[]) {
    const v = value(teacherStudentRegularizer(sa, sp, ta, tp, { form }));
    assert.ok(Math.abs(v - expected[form]) < 1e-5, `${form}: ${v}, expected ${expected[form]}`);
  }
  const s = pairSimilarities(sa, sp, ta, tp);
  assert.deepEqual(choiceIndices(s.negativePairs), [3, 3, 7]);
  const close = (t: tf.Tensor, want: number[]) => t.dataSync().forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-5, `${v} vs ${want[i]}`));
  close(s.studentPositive, [0.866025, 0.984808, 0.866025]);
  close(s.studentNegative, [0.5, 0.5, -0.173648]);
  close(s.teacherPositive, [0.984808, 0.5, 0.939693]);
  close(s.teacherNegative, [0.173648, 0.173648, 0.642788]);
  // Without anchor swap, pair 0 keeps its row's p1 (100 deg): flat 0*3+1 = 1.
  const noSwap = pairSimilarities(sa, sp, ta, tp, { anchorSwap: false });
  assert.deepEqual(choiceIndices(noSwap.negativePairs), [1, 3, 7]);
  // Identical student and teacher: every form is zero.
  for (const form of ["abs", "square", "hinge"] as RegularizerForm[]) assert.equal(value(teacherStudentRegularizer(ta, tp, ta, tp, { form })), 0);
  tf.dispose([sa, sp, ta, tp, ...Object.values(s).flatMap((t) => (t instanceof tf.Tensor ? [t] : [t.rows, t.cols]))]);
  tf.dispose([noSwap.studentPositive, noSwap.studentNegative, noSwap.teacherPositive, noSwap.teacherNegative, noSwap.negativePairs.rows, noSwap.negativePairs.cols]);
});

test("teacher-student regulariser: student gradients match central differences; the teacher gets none", () => {
  const n = 5;
  const dim = 4;
  const ta = tf.tensor2d(randomValues(n * dim, 41), [n, dim]);
  const tp = tf.tensor2d(randomValues(n * dim, 42), [n, dim]);
  const sa = tf.tensor2d(randomValues(n * dim, 43), [n, dim]);
  const sp = tf.tensor2d(randomValues(n * dim, 44), [n, dim]);
  for (const form of ["abs", "square", "hinge"] as RegularizerForm[]) {
    checkGradients((a, p) => teacherStudentRegularizer(a as tf.Tensor2D, p as tf.Tensor2D, ta, tp, { form }), [sa, sp]);
  }
  const g = tf.grads((a, p, x, y) => teacherStudentRegularizer(a as tf.Tensor2D, p as tf.Tensor2D, x as tf.Tensor2D, y as tf.Tensor2D, { form: "square" }))([sa, sp, ta, tp]);
  assert.ok(g[0].abs().max().dataSync()[0] > 0);
  assert.equal(g[2].abs().max().dataSync()[0], 0);
  assert.equal(g[3].abs().max().dataSync()[0], 0);
  tf.dispose([ta, tp, sa, sp, ...g]);
});

test("teacher-student regulariser: an unknown form or mismatched batches are refused", () => {
  const a = unitVectors([0, 90, 200]);
  const b = unitVectors([0, 90]);
  assert.throws(() => teacherStudentRegularizer(a, a, a, a, { form: "cube" as RegularizerForm }), /unknown form 'cube'/);
  assert.throws(() => teacherStudentRegularizer(a, a, b, b, { form: "abs" }), /2 teacher pairs for 3 student pairs/);
  tf.dispose([a, b]);
});
