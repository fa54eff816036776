import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { edgeLoss } from "../../lib/losses/edge";
import { assertClose, checkGradient, makeOutputs, makeTargets, randomPositive, randomValues, value } from "./samfeat-helpers";

before(async () => {
  await tf.setBackend("cpu");
});

const base = { B: 1, H: 8, W: 8, n: 1, points: [0, 0, 0, 0] };

test("edge: MSE against the teacher edges resized with half-pixel bilinear (not an area mean), flagged images only", () => {
  // Teacher 8x8 -> edge map 2x2: output cell o reads source 4·o + 1.5, i.e. rows/columns 4o+1 and 4o+2
  // with weight 1/2 each. Image 0's teacher is 1 at (y,x) = (1,1), (5,6) and (0,0):
  //   cell (0,0) = 1/4 (from (1,1)); cell (1,1) = 1/4 (from (5,6)); (0,0) is never read.
  //   (An area mean would give 2/16 and 1/16.)
  // Image 0 edges [[0.5, 0.1], [0.2, 0.25]] -> squared errors 0.0625, 0.01, 0.04, 0 -> mean 0.028125.
  // Image 1: edges and teacher all 0 -> 0.
  const t = new Float32Array(2 * 64);
  t[1 * 8 + 1] = 1;
  t[5 * 8 + 6] = 1;
  t[0] = 1;
  const teacherEdges = tf.tensor4d(t, [2, 8, 8, 1]);
  const edges = tf.tensor4d([0.5, 0.1, 0.2, 0.25, 0, 0, 0, 0], [2, 2, 2, 1]);
  const outputs = makeOutputs(1, 8, 8, { edges });
  const at = (flags: number[]) => value(edgeLoss(outputs, makeTargets({ ...base, teacherEdges, teacherFlag: flags })));
  assertClose(at([1, 1]), 0.028125 / 2, 1e-7, "both flagged");
  assertClose(at([1, 0]), 0.028125, 1e-7, "image 1 unflagged");
  assertClose(at([0, 1]), 0, 0, "image 0 unflagged");
  assertClose(at([0, 0]), 0, 0, "nothing flagged");
});

test("edge: a clear error when the network has no edge map", () => {
  const outputs = makeOutputs(1, 8, 8, {});
  assert.throws(() => edgeLoss(outputs, makeTargets(base)), /outputs\.edges is absent/);
});

test("edge: gradient w.r.t. the edge map matches finite differences", () => {
  const [B, H, W] = [2, 16, 24];
  const edges = tf.tensor4d(randomPositive(2 * B * 4 * 6, 1, 0, 1), [2 * B, 4, 6, 1]);
  const teacherEdges = tf.tensor4d(randomValues(2 * B * H * W, 2).map((v) => (v + 1) / 2), [2 * B, H, W, 1]);
  const targets = makeTargets({ B, H, W, n: 1, points: new Array(8).fill(0), teacherEdges, teacherFlag: [1, 0, 1, 1] });
  checkGradient((x) => edgeLoss(makeOutputs(B, H, W, { edges: x.edges as tf.Tensor4D }), targets), { edges });
});
