import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { descriptorLoss, detectionLoss, edgeLoss, LOSS_NAMES, psrdLoss, samfeatLosses, wscLoss } from "../../lib/losses";
import { assertClose, makeOutputs, makeTargets, randomPositive, randomValues, value } from "./samfeat-helpers";

before(async () => {
  await tf.setBackend("cpu");
});

function randomBatch() {
  const [B, H, W, n] = [2, 16, 16, 5];
  const s = (shape: [number, number, number, number], seed: number) => tf.tensor4d(randomValues(shape.reduce((a, b) => a * b, 1), seed), shape);
  const outputs = makeOutputs(B, H, W, {
    heatmap: s([4, H, W, 1], 1),
    descriptors: s([4, 4, 4, 6], 2),
    attention: tf.tensor4d(randomPositive(4 * 16, 3), [4, 4, 4, 1]),
    distill: s([4, 2, 2, 8], 4),
    edges: tf.tensor4d(randomPositive(4 * 16, 5, 0, 1), [4, 4, 4, 1]),
  });
  const targets = makeTargets({
    B, H, W, n,
    points: Array.from(randomValues(4 * n * 2, 6), (v) => ((v + 1) / 2) * 15),
    categories: Array.from(randomValues(4 * n, 7), (v) => Math.floor(((v + 1) / 2) * 3) - 1),
    keypoints: tf.tensor4d(randomValues(4 * H * W, 8).map((v) => (v > 0.8 ? 1 : 0)), [4, H, W, 1]),
    teacherEmbedding: s([4, 2, 2, 8], 9),
    teacherEdges: tf.tensor4d(randomPositive(4 * H * W, 10, 0, 1), [4, H, W, 1]),
    teacherFlag: [1, 1, 0, 1],
  });
  return { outputs, targets };
}

test("samfeatLosses: each term equals its own function; the total is the weighted sum; only enabled terms run", () => {
  assert.deepEqual([...LOSS_NAMES], ["det", "des", "dis", "wsc", "edge"]);
  const { outputs, targets } = randomBatch();
  const single = {
    det: value(detectionLoss(outputs, targets)),
    des: value(descriptorLoss(outputs, targets)),
    dis: value(psrdLoss(outputs, targets)),
    wsc: value(wscLoss(outputs, targets, { variant: "supcon" })),
    edge: value(edgeLoss(outputs, targets)),
  };
  for (const v of Object.values(single)) assert.ok(v > 0);
  const weights = { det: 2, des: 0.5, dis: 3, wsc: 0.25, edge: 4 };
  const all = samfeatLosses(outputs, targets, { weights, wsc: { variant: "supcon" } });
  let expected = 0;
  for (const name of LOSS_NAMES) {
    assertClose(value(all.terms[name]!), single[name], 1e-6, name);
    expected += weights[name] * single[name];
  }
  assertClose(value(all.total), expected, 1e-5, "total");

  // Default weights are 1; disabled terms are absent (edge would throw without an edge map).
  const noEdges = { ...outputs, edges: undefined };
  const some = samfeatLosses(noEdges, targets, { enabled: ["det", "des"] });
  assert.deepEqual(Object.keys(some.terms).sort(), ["des", "det"]);
  assertClose(value(some.total), single.det + single.des, 1e-5, "det + des");
  assert.throws(() => samfeatLosses(noEdges, targets), /outputs\.edges is absent/);
  const none = samfeatLosses(outputs, targets, { enabled: [] });
  assert.equal(value(none.total), 0);
  assert.throws(() => samfeatLosses(outputs, targets, { enabled: ["foo" as never] }), /unknown loss/);
});

test("samfeatLosses: gradients reach every output and no tensor leaks", () => {
  const { outputs, targets } = randomBatch();
  const keys = ["heatmap", "descriptors", "attention", "distill", "edges"] as const;
  const before = tf.memory().numTensors;
  const grads = tf.grads((...ts: tf.Tensor[]) => {
    const o = Object.fromEntries(keys.map((k, i) => [k, ts[i]])) as unknown as typeof outputs;
    return samfeatLosses(o, targets).total;
  })(keys.map((k) => outputs[k]!));
  for (const [i, g] of grads.entries()) {
    const v = g.dataSync();
    assert.ok(v.every(Number.isFinite), `${keys[i]}: non-finite gradient`);
    assert.ok(v.some((x) => x !== 0), `${keys[i]}: zero gradient`);
  }
  tf.dispose(grads);
  assert.equal(tf.memory().numTensors, before);
});
