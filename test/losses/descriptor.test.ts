import { before, test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { descriptorLoss } from "../../lib/losses/descriptor";
import { assertClose, checkGradient, makeOutputs, makeTargets, randomPositive, randomValues, unit, value } from "./samfeat-helpers";

before(async () => {
  await tf.setBackend("cpu");
});

// 2 pairs of 9x9 images with 2x2 descriptor/attention maps: u = x/8·2 - 0.5, so point (4c+2, 4r+2)
// reads cell (r, c) exactly. The n = 3 points sit on cells (0,0), (0,1), (1,0) in every image.
const POINTS = [2, 2, 6, 2, 2, 6];
const D = (a: number[], b: number[]) => Math.sqrt(Math.max((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2, 1e-5));
const sqrt1e5 = Math.sqrt(1e-5); // D of identical vectors

/** 2x2 map of one image from the three point values (cell (1,1) is unused filler). */
const cells = (v: number[][], filler: number[]) => [...v[0], ...v[1], ...v[2], ...filler];

function setup(notSearch0: number[]) {
  const s = (k: number, v: [number, number]) => [k * v[0], k * v[1]];
  // Raw descriptors are scaled unit vectors: the loss must normalise them.
  const desc = [
    cells([s(5, unit(0)), s(5, unit(90)), s(2, unit(180))], [1, 1]), // pair 0, view 0: e0, e90, e180
    cells([unit(0), s(3, unit(0)), unit(90)], [1, 1]), // pair 1, view 0: e0, e0, e90
    cells([unit(0), s(4, unit(30)), unit(180)], [1, 1]), // pair 0, view 1: e0, e30, e180
    cells([unit(0), unit(180), s(7, unit(90))], [1, 1]), // pair 1, view 1: e0, e180, e90
  ].flat();
  const att = [1, 1, 1, 1, /* pair 1 view 0 */ 1, 2, 0.5, 1, 1, 1, 1, 1, 1, 1, 1, 1];
  const outputs = makeOutputs(2, 9, 9, {
    descriptors: tf.tensor4d(desc, [4, 2, 2, 2]),
    attention: tf.tensor4d(att, [4, 2, 2, 1]),
  });
  const eye = [1, 0, 0, 0, 1, 0, 0, 0, 1];
  const targets = makeTargets({
    B: 2,
    H: 9,
    W: 9,
    n: 3,
    points: [...POINTS, ...POINTS, ...POINTS, ...POINTS],
    valid: [1, 1, 1, 1, 1, 0],
    notSearch: [...notSearch0, ...eye],
  });
  return { outputs, targets };
}

test("des: hardest negative outside the not-search mask, margin 1, attention weights, validity", () => {
  // Pair 0 (attention 1, so x = d̂): view 0 x = [e0, e90, e180], view 1 x = [e0, e30, e180];
  // N = I plus points 0,1 within 16 px of each other.
  //   i=0: pos = D(e0,e0) = √1e-5; negatives: j=1 masked (+10), j=2: D(e0,e180) = 2 -> neg 2;
  //        ℓ0 = relu(1 + √1e-5 - 2) = 0 (beyond the margin). Unmasked, j=1 (2·sin 15° = 0.518) would give 0.486.
  //   i=1: pos = D(e90,e30) = 2·sin 30° = 1; negatives j=0 masked, j=2: D(e90,e180) = √2; ℓ1 = 2 - √2.
  //   i=2: pos = √1e-5; neg = min(D(e180,e0) = 2, D(e180,e30) = 2·sin 75°) = 1.932; ℓ2 = 0.
  //   a_i = 1/3 each -> L_0 = (2 - √2)/3.
  // Pair 1: view 0 x = [1·e0, 2·e0, 0.5·e90] (attention 1, 2, 0.5), view 1 x = [e0, e180, e90]; N = I;
  // valid = [1, 1, 0].
  //   i=0: pos = √1e-5, neg = min(D(e0,e180) = 2, D(e0,e90) = √2) -> ℓ0 = 0.
  //   i=1: pos = D(2e0, e180) = 3, neg = min(D(2e0,e0) = 1, D(2e0,e90) = √5) = 1 -> ℓ1 = 3.
  //   i=2 (invalid): pos = 0.5, neg = √1.25 -> ℓ2 = 0.382, but a_2 = 0.
  //   a_1 = exp(2/14) / (exp(1/14) + exp(2/14)) -> L_1 = 3·a_1.
  // L_des = (L_0 + L_1)/2.
  const L0 = (2 - Math.SQRT2) / 3;
  const L1 = (3 * Math.exp(2 / 14)) / (Math.exp(1 / 14) + Math.exp(2 / 14));
  const { outputs, targets } = setup([1, 1, 0, 1, 1, 0, 0, 0, 1]);
  assertClose(value(descriptorLoss(outputs, targets)), (L0 + L1) / 2, 1e-5, "des");

  // Without the not-search entry between points 0 and 1, pair 0's i=0 finds the hardest negative
  // e30 at 2·sin 15° < 1 + pos: ℓ0 = 1 + √1e-5 - 2·sin 15°; i=1 and i=2 are unchanged.
  const l0 = 1 + sqrt1e5 - D(unit(0), unit(30));
  const unmasked = setup([1, 0, 0, 0, 1, 0, 0, 0, 1]);
  assertClose(value(descriptorLoss(unmasked.outputs, unmasked.targets)), ((l0 + 2 - Math.SQRT2) / 3 + L1) / 2, 1e-5, "des, no mask");

  // Margin and temperature options: margin 0.5 leaves only pair 1's i=1 (0.5 + 3 - 1 = 2.5) and
  // pair 0's i=1 (0.5 + 1 - √2 = 0.086); T = 1 changes a_1 to e²/(e + e²).
  const L1m = (2.5 * Math.exp(2)) / (Math.exp(1) + Math.exp(2));
  const L0m = (0.5 + 1 - Math.SQRT2) / 3;
  assertClose(value(descriptorLoss(outputs, targets, { margin: 0.5, temperature: 1 })), (L0m + L1m) / 2, 1e-5, "des, margin 0.5, T 1");
});

test("des: a pair without a valid point contributes 0 (the 1e-5 floor of the weight sum)", () => {
  const { outputs, targets } = setup([1, 1, 0, 1, 1, 0, 0, 0, 1]);
  const noValid = { ...targets, valid: tf.tensor2d([1, 1, 1, 0, 0, 0], [2, 3]) };
  assertClose(value(descriptorLoss(outputs, noValid)), (2 - Math.SQRT2) / 3 / 2, 1e-5, "des, pair 1 invalid");
});

function randomCase(seed: number) {
  const [B, H, W, n, Dd] = [2, 16, 16, 6, 8];
  const descriptors = tf.tensor4d(randomValues(2 * B * 4 * 4 * Dd, seed), [2 * B, 4, 4, Dd]);
  const attention = tf.tensor4d(randomPositive(2 * B * 16, seed + 1), [2 * B, 4, 4, 1]);
  const points = Array.from(randomValues(2 * B * n * 2, seed + 2), (v) => ((v + 1) / 2) * 15);
  const r = randomValues(B * n * n, seed + 3);
  const notSearch: number[] = [];
  for (let b = 0; b < B; b++)
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) notSearch.push(i === j || r[b * n * n + Math.min(i, j) * n + Math.max(i, j)] > 0.6 ? 1 : 0);
  const valid = Array.from(randomValues(B * n, seed + 4), (v) => (v > -0.5 ? 1 : 0));
  const targets = makeTargets({ B, H, W, n, points, notSearch, valid });
  return { B, H, W, descriptors, attention, targets };
}

test("des: gradients w.r.t. descriptors and attention match finite differences", () => {
  const { B, H, W, descriptors, attention, targets } = randomCase(21);
  const f = (x: Record<string, tf.Tensor>) =>
    descriptorLoss(
      makeOutputs(B, H, W, { descriptors: (x.descriptors ?? descriptors) as tf.Tensor4D, attention: (x.attention ?? attention) as tf.Tensor4D }),
      targets,
    );
  checkGradient(f, { descriptors, attention });
  // The attention alone (it scales x and sets the weights a_i; neither path is detached).
  checkGradient(f, { attention }, { seed: 4242 });
});
