import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { saveCheckpoint } from "../../lib/models/checkpoint";
import { SamFeatNet } from "../../lib/models/samfeat";
import { createExtractor } from "../../lib/eval/methods";
import { denseOutputs, extractSamFeat, inputSide } from "../../lib/eval/samfeat-extractor";
import { sampleBilinear } from "../../lib/eval/sampling";
import { Rng } from "../../lib/geometry/random";

// A 70 x 50 image: both sides off the multiple-of-16 grid (resized to 64 x 48).
const rng = new Rng(5);
const img = { width: 70, height: 50, data: Uint8Array.from({ length: 70 * 50 * 3 }, () => Math.floor(rng.next() * 256)) };
const net = new SamFeatNet({ width: 0.125, descDim: 16, seed: 1 });

test("sides are rounded to the nearest multiple of 16", () => {
  assert.deepEqual([70, 50, 56, 8, 24].map(inputSide), [64, 48, 64, 16, 32]);
});

test("shapes, bounds, sorted scores, and descriptor norm = sampled attention", () => {
  const f = extractSamFeat(net, img, { threshold: 0, topK: 40 });
  const n = f.scores.length;
  assert.equal(n, 40); // threshold 0 keeps every pixel, NMS and border leave more than 40
  assert.equal(f.dim, 16);
  assert.equal(f.keypoints.length, 2 * n);
  assert.equal(f.descriptors.length, 16 * n);
  for (let i = 1; i < n; i++) assert.ok(f.scores[i - 1] >= f.scores[i]);
  // keypoints are integer pixels of the 64 x 48 input, scaled by 70/64 and 50/48, away from the 4-px border
  const d = denseOutputs(net, img);
  assert.deepEqual([d.width, d.height], [64, 48]);
  const kpInput = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const x = (f.keypoints[2 * i] * 64) / 70, y = (f.keypoints[2 * i + 1] * 48) / 50;
    assert.ok(Math.abs(x - Math.round(x)) < 1e-3 && Math.abs(y - Math.round(y)) < 1e-3, `keypoint ${i} not on the grid`);
    assert.ok(x >= 4 && x < 60 && y >= 4 && y < 44, `keypoint ${i} (${x}, ${y}) in the border`);
    kpInput.set([Math.round(x), Math.round(y)], 2 * i);
    assert.ok(Math.abs(f.scores[i] - d.prob[Math.round(y) * 64 + Math.round(x)]) < 1e-6, "score is the probability");
  }
  const att = sampleBilinear(d.attention, kpInput, 64, 48, "border");
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < 16; j++) s += f.descriptors[i * 16 + j] ** 2;
    assert.ok(att[i] > 0 && Math.abs(Math.sqrt(s) - att[i]) < 1e-4 * att[i], `descriptor ${i}: norm ${Math.sqrt(s)} vs attention ${att[i]}`);
  }
});

test("deterministic, and no tensors leak across extractions", () => {
  extractSamFeat(net, img, { threshold: 0, topK: 10 });
  const before = tf.memory().numTensors;
  const a = extractSamFeat(net, img, { threshold: 0, topK: 10 });
  const b = extractSamFeat(net, img, { threshold: 0, topK: 10 });
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(a, b);
});

test("a checkpoint path is a METHOD: same features as the network it was saved from", async () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ckpt-")), "tiny.safetensors");
  saveCheckpoint(file, net);
  const ex = await createExtractor(file, { maxKeypoints: 12 });
  assert.equal(ex.name, file);
  assert.deepEqual(await ex.extract(img), extractSamFeat(net, img, { topK: 12 }));
  ex.dispose?.();
  fs.writeFileSync(file, "not a checkpoint");
  await assert.rejects(createExtractor(file), /--method .*tiny\.safetensors/);
});
