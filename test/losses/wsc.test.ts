import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { sampleBilinear } from "../../lib/eval/sampling";
import { wscLoss } from "../../lib/losses/wsc";
import { assertClose, checkGradient, makeOutputs, makeTargets, randomPositive, randomValues, unit, value } from "./samfeat-helpers";

before(async () => {
  await tf.setBackend("cpu");
});

// One pair of 9x9 images, 2x2 maps, the n = 3 points on cells (0,0), (0,1), (1,0) (see descriptor.test.ts).
const POINTS = [2, 2, 6, 2, 2, 6];
const delta = 2 * Math.asin(0.01) * (180 / Math.PI); // angle between unit vectors at distance 0.02
const DIAG = 10 + Math.sqrt(1e-5); // intra-image self distance: √1e-5 plus 10·N_ii
const e = Math.exp;

function handCase(categories: number[], teacherFlag: number[], notSearch?: number[]) {
  const desc = [
    ...unit(0), ...unit(60), ...unit(180), 1, 1, // view 0: x = [e0, e60, e180]
    ...unit(0), ...unit(90), ...unit(90 + delta), 1, 1, // view 1: x = [e0, e90, e(90+δ)], |x1 - x2| = 0.02
  ];
  const outputs = makeOutputs(1, 9, 9, { descriptors: tf.tensor4d(desc, [2, 2, 2, 2]) });
  const targets = makeTargets({ B: 1, H: 9, W: 9, n: 3, points: [...POINTS, ...POINTS], categories, teacherFlag, notSearch });
  return { outputs, targets };
}

test("wsc release: masked entries give exp(0) = 1, invalid rows count, +10·N on self, margin floor; only view 1 is gated", () => {
  // τ = 5, m = 0.07. View 0: categories [1, 1, 2]; D01 = 1, D02 = 2, D12 = √3, D_ii = 10 + √1e-5.
  //   P = [[1,1,0],[1,1,0],[0,0,1]], Q = 1 - P. Each masked entry adds exp(0) = 1 to its sum.
  //   row 0: S⁺ = e^(-D_ii/5) + e^(-1/5) + 1,   S⁻ = 1 + 1 + e^(-2/5)
  //   row 1: S⁺ = e^(-1/5) + e^(-D_ii/5) + 1,   S⁻ = 1 + 1 + e^(-√3/5)
  //   row 2: S⁺ = 1 + 1 + e^(-D_ii/5),          S⁻ = e^(-2/5) + e^(-√3/5) + 1
  // View 1: categories [-1, 3, 3]; D12 = 0.02 < m, so the positive uses max(m, D) = 0.07.
  //   row 0 (invalid, still averaged): S⁺ = 3, S⁻ = 3 -> -log(1/2)
  //   rows 1, 2: S⁺ = 1 + e^(-D_ii/5) + e^(-0.07/5), S⁻ = 3 (Q is empty: every entry masked)
  const ell = (sp: number, sn: number) => -Math.log(sp / (sp + sn));
  const L0 =
    (ell(e(-DIAG / 5) + e(-0.2) + 1, 2 + e(-0.4)) +
      ell(e(-0.2) + e(-DIAG / 5) + 1, 2 + e(-Math.sqrt(3) / 5)) +
      ell(2 + e(-DIAG / 5), e(-0.4) + e(-Math.sqrt(3) / 5) + 1)) /
    3;
  const r1 = ell(1 + e(-DIAG / 5) + e(-0.07 / 5), 3);
  const L1 = (Math.log(2) + 2 * r1) / 3;
  const cats = [1, 1, 2, -1, 3, 3];
  const at = (flags: number[], notSearch?: number[]) => {
    const { outputs, targets } = handCase(cats, flags, notSearch);
    return value(wscLoss(outputs, targets));
  };
  assertClose(at([1, 1]), (L0 + L1) / 2, 1e-5, "both views");
  // A flag of 0 on the second view removes it (its term becomes 0, the /2 stays, as (l0 + l1)/2).
  assertClose(at([1, 0]), L0 / 2, 1e-5, "view 1 unflagged");
  // The release never gates the first view.
  assertClose(at([0, 1]), (L0 + L1) / 2, 1e-5, "view 0 flag ignored");
  // +10·N on an off-diagonal pair: view 1's D12 becomes 10.02, its positive term e^(-10.02/5).
  const ns = [1, 0, 0, 0, 1, 1, 0, 1, 1];
  const r1n = ell(1 + e(-DIAG / 5) + e(-10.02 / 5), 3);
  // View 0: D12 = √3 + 10, a negative of rows 1 and 2.
  const L0n =
    (ell(e(-DIAG / 5) + e(-0.2) + 1, 2 + e(-0.4)) +
      ell(e(-0.2) + e(-DIAG / 5) + 1, 2 + e(-(Math.sqrt(3) + 10) / 5)) +
      ell(2 + e(-DIAG / 5), e(-0.4) + e(-(Math.sqrt(3) + 10) / 5) + 1)) /
    3;
  assertClose(at([1, 1], ns), (L0n + (Math.log(2) + 2 * r1n) / 3) / 2, 1e-4, "not-search on intra distances");
});

test("wsc supcon: valid anchors with a positive besides themselves, no masked entries, margin floor, flags on both views", () => {
  // View 0: categories [1, 1, 2]: anchors 0 and 1 (point 2 has no other positive).
  //   ℓ0 = -log(e^(-1/5) / (e^(-1/5) + e^(-2/5)))        P' = {1} (D = 1), Q = {2} (D = 2)
  //   ℓ1 = -log(e^(-1/5) / (e^(-1/5) + e^(-√3/5)))       P' = {0}, Q = {2} (D = √3)
  // View 1: categories [4, 3, 3]: anchors 1 and 2; their positive is at D = 0.02 -> floor 0.07.
  //   ℓ1 = -log(e^(-0.014) / (e^(-0.014) + e^(-√2/5)))   Q = {0}, D(e90, e0) = √2
  //   ℓ2 = -log(e^(-0.014) / (e^(-0.014) + e^(-D20/5))), D20 = 2·sin((90° + δ)/2)
  const ell = (pos: number, neg: number) => -Math.log(e(-pos / 5) / (e(-pos / 5) + e(-neg / 5)));
  const D20 = 2 * Math.sin(((90 + delta) / 2) * (Math.PI / 180));
  const v0 = [ell(1, 2), ell(1, Math.sqrt(3))];
  const v1 = [ell(0.07, Math.SQRT2), ell(0.07, D20)];
  const cats = [1, 1, 2, 4, 3, 3];
  const at = (flags: number[], notSearch?: number[]) => {
    const { outputs, targets } = handCase(cats, flags, notSearch);
    return value(wscLoss(outputs, targets, { variant: "supcon" }));
  };
  assertClose(at([1, 1]), (v0[0] + v0[1] + v1[0] + v1[1]) / 4, 1e-5, "both views");
  assertClose(at([0, 1]), (v1[0] + v1[1]) / 2, 1e-5, "view 0 unflagged");
  assertClose(at([1, 0]), (v0[0] + v0[1]) / 2, 1e-5, "view 1 unflagged");
  assertClose(at([0, 0]), 0, 0, "nothing flagged");
  // The not-search mask plays no part in the supcon form.
  assertClose(at([1, 1], [1, 1, 1, 1, 1, 1, 1, 1, 1]), (v0[0] + v0[1] + v1[0] + v1[1]) / 4, 1e-5, "not-search ignored");
});

/** method.md's released formula, element by element in float64, sampling with lib/eval/sampling. */
function releaseReference(p: {
  B: number; n: number; H: number; W: number; h: number; w: number; C: number;
  desc: Float32Array; att: Float32Array; points: Float32Array; notSearch: number[]; cats: number[]; flags: number[];
}): number {
  const { B, n, H, W, h, w, C } = p;
  const x: number[][][] = [];
  for (let k = 0; k < 2 * B; k++) {
    const pts = p.points.subarray(k * n * 2, (k + 1) * n * 2);
    const d = sampleBilinear({ width: w, height: h, channels: C, data: p.desc.subarray(k * h * w * C, (k + 1) * h * w * C) }, pts, W, H, "border");
    const a = sampleBilinear({ width: w, height: h, channels: 1, data: p.att.subarray(k * h * w, (k + 1) * h * w) }, pts, W, H, "border");
    x.push(
      Array.from({ length: n }, (_, i) => {
        const v = Array.from(d.subarray(i * C, (i + 1) * C));
        const norm = Math.hypot(...v);
        return v.map((t) => (a[i] * t) / norm);
      }),
    );
  }
  const dist = (a: number[], b: number[]) => {
    let aa = 0, bb = 0, ab = 0;
    for (let c = 0; c < a.length; c++) (aa += a[c] * a[c]), (bb += b[c] * b[c]), (ab += a[c] * b[c]);
    return Math.sqrt(Math.max(aa - 2 * ab + bb, 1e-5));
  };
  const viewLoss = (k: number, b: number) => {
    let sum = 0;
    for (let i = 0; i < n; i++) {
      let sp = 0, sn = 0;
      const ci = p.cats[k * n + i];
      for (let j = 0; j < n; j++) {
        const cj = p.cats[k * n + j];
        const Dij = dist(x[k][i], x[k][j]) + 10 * p.notSearch[(b * n + i) * n + j];
        const both = ci !== -1 && cj !== -1;
        const P = both && ci === cj;
        const Q = both && ci !== cj;
        sp += P ? Math.exp(-Math.max(0.07, Dij) / 5) : 1;
        sn += Q ? Math.exp(-Dij / 5) : 1;
      }
      sum += -Math.log(sp / (sp + sn));
    }
    return sum / n;
  };
  let l0 = 0;
  for (let b = 0; b < B; b++) l0 += viewLoss(b, b) / B;
  let l1 = 0, count = 0;
  for (let b = 0; b < B; b++) if (p.flags[B + b] === 1) (l1 += viewLoss(B + b, b)), count++;
  return (l0 + (count > 0 ? l1 / count : 0)) / 2;
}

function randomCase(seed: number, B = 3, n = 7) {
  const [H, W, h, w, C] = [16, 24, 4, 6, 5];
  const desc = randomValues(2 * B * h * w * C, seed);
  const att = randomPositive(2 * B * h * w, seed + 1, 0.3, 2);
  const points = randomValues(2 * B * n * 2, seed + 2).map((v, k) => ((v + 1) / 2) * (k % 2 === 0 ? W + 2 : H + 2) - 1);
  const r = randomValues(B * n * n, seed + 3);
  const notSearch: number[] = [];
  for (let b = 0; b < B; b++)
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) notSearch.push(i === j || r[b * n * n + Math.min(i, j) * n + Math.max(i, j)] > 0.5 ? 1 : 0);
  const cats = Array.from(randomValues(2 * B * n, seed + 4), (v) => Math.floor(((v + 1) / 2) * 4) - 1); // -1..2
  const flags = [1, 1, 1, 1, 0, 1].slice(0, B).concat([1, 0, 1].slice(0, B)); // view 1 mixed
  const outputs = makeOutputs(B, H, W, { descriptors: tf.tensor4d(desc, [2 * B, h, w, C]), attention: tf.tensor4d(att, [2 * B, h, w, 1]) });
  const targets = makeTargets({ B, H, W, n, points: Array.from(points), notSearch, categories: cats, teacherFlag: flags });
  return { B, n, H, W, h, w, C, desc, att, points, notSearch, cats, flags, outputs, targets };
}

test("wsc release equals a direct element-by-element loop over method.md's formula on random data", () => {
  for (const seed of [31, 47, 59]) {
    const c = randomCase(seed);
    const expected = releaseReference(c);
    assertClose(value(wscLoss(c.outputs, c.targets)), expected, 1e-5 * Math.max(1, expected), `seed ${seed}`);
  }
});

test("wsc: gradients w.r.t. descriptors and attention match finite differences, both variants", () => {
  // At τ = 5 the loss is so flat (directional derivatives ~1e-4 on a loss ~0.7) that float32 central
  // differences are dominated by rounding; τ = 0.5 runs the same code with 10x larger derivatives.
  const c = randomCase(71, 2, 8);
  for (const variant of ["release", "supcon"] as const) {
    const f = (x: Record<string, tf.Tensor>) =>
      wscLoss(
        { ...c.outputs, descriptors: (x.descriptors ?? c.outputs.descriptors) as tf.Tensor4D, attention: (x.attention ?? c.outputs.attention) as tf.Tensor4D },
        c.targets,
        { variant, temperature: 0.5 },
      );
    checkGradient(f, { descriptors: c.outputs.descriptors, attention: c.outputs.attention });
    checkGradient(f, { attention: c.outputs.attention }, { seed: 555 });
  }
});

test("wsc: an unknown variant is an error", () => {
  const c = randomCase(3, 1, 3);
  assert.throws(() => wscLoss(c.outputs, c.targets, { variant: "x" as never }), /unknown variant/);
});
