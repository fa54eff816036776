import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { createBaseline } from "../../lib/eval/baselines";
import { evaluateDataset } from "../../lib/eval/evaluate";
import { readFeatureFile } from "../../lib/eval/export";
import { mutualNearestFromSimilarity, mutualNearestNeighbours } from "../../lib/eval/matching";
import { makeTinyDataset } from "./fixtures";

test("ORB descriptors are unpacked to +-1/16, so dot products are 1 - 2 hamming / 256", async () => {
  const root = await makeTinyDataset();
  const orb = await createBaseline("orb", { maxKeypoints: 300 });
  const { readRgb } = await import("../../lib/data/image");
  const f = await orb.extract(await readRgb(path.join(root, "i_same", "1.png")));
  assert.equal(f.dim, 256);
  assert.ok(f.scores.length > 50, `${f.scores.length} keypoints`);
  assert.ok(f.descriptors.every((v) => Math.abs(Math.abs(v) - 1 / 16) < 1e-7));
  let ham = 0, dot = 0;
  for (let j = 0; j < 256; j++) {
    const a = f.descriptors[j], b = f.descriptors[256 + j];
    if (Math.sign(a) !== Math.sign(b)) ham++;
    dot += a * b;
  }
  assert.ok(Math.abs(dot - (1 - (2 * ham) / 256)) < 1e-5);
  for (let i = 1; i < f.scores.length; i++) assert.ok(f.scores[i - 1] >= f.scores[i], "scores sorted");
  orb.dispose?.();
});

for (const name of ["orb", "kaze"] as const) {
  test(`${name}: identical images give MMA 1 everywhere; an integer shift is recovered within 3 px; npz export`, async () => {
    const root = await makeTinyDataset();
    const ex = await createBaseline(name, { maxKeypoints: 500 });
    const { summary } = await evaluateDataset(root, ex, { quiet: true, exportNpz: `test-${name}` });
    ex.dispose?.();
    assert.equal(summary.pairs, 2);
    assert.deepEqual(summary.mma_i, new Array(10).fill(1));
    // pyramid levels quantise positions, so some matches are off by a pixel or two
    assert.ok(summary.mma_v[2]! > 0.9, `viewpoint MMA@3 ${summary.mma_v[2]}`);
    assert.deepEqual(summary.homography.accuracy_v.slice(1), [1, 1]); // corner error <= 3 px and <= 5 px
    const exported = readFeatureFile(path.join(root, "v_shift", `2.png.test-${name}`));
    assert.equal(exported.dim, name === "orb" ? 256 : 64);
    assert.ok(exported.scores.length > 20);
    fs.rmSync(root, { recursive: true, force: true });
  });
}

test("binary descriptors give exact dot products: tf matching equals float64 matching, ties included", async () => {
  const root = await makeTinyDataset();
  const akaze = await createBaseline("akaze", { maxKeypoints: 300 });
  const { readRgb } = await import("../../lib/data/image");
  const a = await akaze.extract(await readRgb(path.join(root, "v_shift", "1.png")));
  const b = await akaze.extract(await readRgb(path.join(root, "v_shift", "2.png")));
  akaze.dispose?.();
  assert.equal(a.dim, 488);
  assert.ok(a.descriptors.every((v) => Math.abs(v) === 1 / 16), "bits unpacked to +-1/16");
  const D = a.dim, na = a.scores.length, nb = b.scores.length;
  const sim = new Float64Array(na * nb);
  for (let i = 0; i < na; i++) {
    for (let j = 0; j < nb; j++) {
      let s = 0;
      for (let k = 0; k < D; k++) s += a.descriptors[i * D + k] * b.descriptors[j * D + k];
      sim[i * nb + j] = s;
    }
  }
  const exact = mutualNearestFromSimilarity(sim, na, nb);
  const viaTf = mutualNearestNeighbours(a.descriptors, b.descriptors, D, 64);
  assert.deepEqual(Array.from(viaTf.a), Array.from(exact.a));
  assert.deepEqual(Array.from(viaTf.b), Array.from(exact.b));
  fs.rmSync(root, { recursive: true, force: true });
});
