import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { evenlySpaced, psrdLoss, subGridSize } from "../../lib/losses/psrd";
import { assertClose, checkGradient, makeOutputs, makeTargets, randomPositive, randomValues, value } from "./samfeat-helpers";

before(async () => {
  await tf.setBackend("cpu");
});

// One pair of 8x16 images: a 1x2 stride-8 grid (P = 2 cells), 2x4 attention at stride 4.
const [B, H, W] = [1, 8, 16];
const base = { B, H, W, n: 1, points: [0, 0, 0, 0] };

test("dis: L1 between cosine relation matrices, mean over flagged images", () => {
  // Image 0: student cells (1,0), (1,1) -> cos = 1/√2; teacher cells (1,0), (0,1) -> cos = 0.
  //   R_S = [[1, 1/√2], [1/√2, 1]], R_T = I -> mean |R_S - R_T| = 2·(1/√2)/4 = √2/4.
  // Image 1: teacher = student scaled per cell by 3 and 0.5 -> identical relations -> 0.
  const distill = tf.tensor4d([1, 0, 1, 1, /* image 1 */ 1, 2, -1, 0.5], [2, 1, 2, 2]);
  const teacher = tf.tensor4d([1, 0, 0, 1, /* image 1 */ 3, 6, -0.5, 0.25], [2, 1, 2, 2]);
  const attention = tf.tensor4d(randomPositive(16, 1), [2, 2, 4, 1]);
  const outputs = makeOutputs(B, H, W, { distill, attention });
  const at = (flags: number[]) => value(psrdLoss(outputs, makeTargets({ ...base, teacherEmbedding: teacher, teacherFlag: flags })));
  assertClose(at([1, 1]), Math.SQRT2 / 8, 1e-6, "both flagged");
  assertClose(at([1, 0]), Math.SQRT2 / 4, 1e-6, "image 1 unflagged");
  assertClose(at([0, 1]), 0, 1e-6, "image 0 unflagged");
  assertClose(at([0, 0]), 0, 0, "nothing flagged");
});

test("dis: zero when the teacher equals the student up to a positive per-cell scale, nonzero otherwise; the attention cancels", () => {
  const [b, h, w, C] = [2, 3, 4, 5];
  const s = randomValues(2 * b * h * w * C, 2);
  const scale = randomPositive(2 * b * h * w, 3, 0.2, 5);
  const t = s.map((v, k) => v * scale[Math.floor(k / C)]);
  const distill = tf.tensor4d(s, [2 * b, h, w, C]);
  const attention = tf.tensor4d(randomPositive(2 * b * 2 * h * 2 * w, 4, 0.1, 3), [2 * b, 2 * h, 2 * w, 1]);
  const targets = (emb: Float32Array) => makeTargets({ B: b, H: 8 * h, W: 8 * w, n: 1, points: new Array(4 * b).fill(0), teacherEmbedding: tf.tensor4d(emb, [2 * b, h, w, C]) });
  const outputs = makeOutputs(b, 8 * h, 8 * w, { distill, attention });
  assert.ok(value(psrdLoss(outputs, targets(t))) < 1e-6);
  const perturbed = t.map((v, k) => v + 0.3 * Math.sin(k));
  const l = value(psrdLoss(outputs, targets(perturbed)));
  assert.ok(l > 1e-2, `perturbed teacher: ${l}`);
  // The attention is a positive per-cell scale on both sides: it cancels in the normalisation.
  const flat = makeOutputs(b, 8 * h, 8 * w, { distill, attention: tf.onesLike(attention) });
  assertClose(value(psrdLoss(flat, targets(perturbed))), l, 1e-5, "attention 1 vs random attention");
});

test("dis: above maxPixels, the relation uses the fixed evenly spaced sub-grid", () => {
  // 4x6 grid = 24 cells, maxPixels 6: sh = floor(4·√(6/24)) = 2, sw = floor(6/2) = 3;
  // rows floor((k+0.5)·4/2) = [1, 3], columns floor((k+0.5)·6/3) = [1, 3, 5].
  assert.deepEqual(subGridSize(4, 6, 6), [2, 3]);
  assert.deepEqual(evenlySpaced(4, 2), [1, 3]);
  assert.deepEqual(evenlySpaced(6, 3), [1, 3, 5]);
  assert.deepEqual(subGridSize(50, 50, 1024), [32, 32]);
  assert.deepEqual(subGridSize(3, 4, 1024), [3, 4]);
  const [h, w, C] = [4, 6, 3];
  const s = randomValues(2 * h * w * C, 5);
  const t = randomValues(2 * h * w * C, 6);
  const pick = (v: Float32Array) => {
    const out: number[] = [];
    for (let i = 0; i < 2; i++) for (const y of [1, 3]) for (const x of [1, 3, 5]) for (let c = 0; c < C; c++) out.push(v[((i * h + y) * w + x) * C + c]);
    return out;
  };
  const full = makeOutputs(1, 8 * h, 8 * w, { distill: tf.tensor4d(s, [2, h, w, C]) });
  const sub = makeOutputs(1, 16, 24, { distill: tf.tensor4d(pick(s), [2, 2, 3, C]) });
  const fullTargets = makeTargets({ B: 1, H: 8 * h, W: 8 * w, n: 1, points: [0, 0, 0, 0], teacherEmbedding: tf.tensor4d(t, [2, h, w, C]) });
  const subTargets = makeTargets({ B: 1, H: 16, W: 24, n: 1, points: [0, 0, 0, 0], teacherEmbedding: tf.tensor4d(pick(t), [2, 2, 3, C]) });
  const expected = value(psrdLoss(sub, subTargets));
  assert.ok(expected > 1e-2);
  assertClose(value(psrdLoss(full, fullTargets, { maxPixels: 6 })), expected, 1e-6, "sub-grid");
  // Under the limit every cell is used: a different value.
  assert.ok(Math.abs(value(psrdLoss(full, fullTargets)) - expected) > 1e-3);
});

test("dis: gradient w.r.t. the student matches finite differences; the attention's is ~0 (it cancels)", () => {
  const [b, h, w, C] = [1, 3, 4, 6];
  const distill = tf.tensor4d(randomValues(2 * b * h * w * C, 7), [2 * b, h, w, C]);
  const attention = tf.tensor4d(randomPositive(2 * b * 4 * h * w, 8), [2 * b, 2 * h, 2 * w, 1]);
  // Image 1's flag is 0 and its teacher is zero (as unflagged rows are): no NaN may leak from it.
  const emb = randomValues(2 * b * h * w * C, 9).map((v, k) => (k < h * w * C ? v : 0));
  const targets = makeTargets({ B: b, H: 8 * h, W: 8 * w, n: 1, points: [0, 0, 0, 0], teacherEmbedding: tf.tensor4d(emb, [2, h, w, C]), teacherFlag: [1, 0] });
  const f = (x: Record<string, tf.Tensor>) =>
    psrdLoss(makeOutputs(b, 8 * h, 8 * w, { distill: (x.distill ?? distill) as tf.Tensor4D, attention: (x.attention ?? attention) as tf.Tensor4D }), targets, { maxPixels: 8 });
  checkGradient(f, { distill }, { eps: 3e-3 });
  const g = tf.grad((a: tf.Tensor) => f({ attention: a }))(attention);
  const gv = g.dataSync();
  assert.ok(gv.every(Number.isFinite));
  assert.ok(Math.max(...Array.from(gv, Math.abs)) < 1e-4, "attention gradient should vanish");
});
