import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { Adam } from "../../lib/models/adam";

test("three steps equal torch.optim.Adam(lr=1e-2, weight_decay=0.1)", async () => {
  await tf.setBackend("cpu");
  // Expected values printed by PyTorch 1.13 for p = [1, -2, 0.5] and these gradients.
  const grads = [[0.5, -1.0, 0.0], [0.25, 2.0, -3.0], [-1.0, 0.5, 1e-3]];
  const expected = [
    [0.99000001, -1.99000001, 0.49000001],
    [0.980465829, -1.99247956, 0.497326851],
    [0.981037676, -1.99525785, 0.502879858],
  ];
  const p = tf.variable(tf.tensor1d([1, -2, 0.5]));
  const opt = new Adam(new Map([["p", p]]), { lr: 1e-2, weightDecay: 0.1 });
  const before = tf.memory().numTensors;
  grads.forEach((g, i) => {
    const gt = tf.tensor1d(g);
    opt.step(new Map([["p", gt]]));
    gt.dispose();
    const got = p.dataSync();
    expected[i].forEach((e, j) => assert.ok(Math.abs(got[j] - e) < 1e-6, `step ${i + 1}[${j}]: ${got[j]} vs ${e}`));
  });
  assert.equal(opt.steps, 3);
  assert.equal(tf.memory().numTensors, before + 2); // the two moment buffers, nothing else
  opt.dispose();
  p.dispose();
});
