import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { readRgb, rgbToGrey } from "../../lib/data/image";
import { createBaseline } from "../../lib/eval/baselines";
import { evaluateDataset } from "../../lib/eval/evaluate";
import { readFeatureFile } from "../../lib/eval/export";
import { mutualNearestFromSimilarity, mutualNearestNeighbours } from "../../lib/eval/matching";
import { loadOpenCv } from "../../lib/eval/opencv";
import { makeTinyDataset } from "./fixtures";

test("ORB: the dot products of our unpacked descriptors rank exactly as OpenCV's own Hamming distance (cv.norm NORM_HAMMING)", async () => {
  const root = await makeTinyDataset();
  const image = await readRgb(path.join(root, "i_same", "1.png"));
  const orb = await createBaseline("orb", { maxKeypoints: 300 });
  const f = await orb.extract(image);
  orb.dispose?.();
  assert.equal(f.dim, 256);
  assert.ok(f.scores.length > 50, `${f.scores.length} keypoints`);
  for (let i = 1; i < f.scores.length; i++) assert.ok(f.scores[i - 1] >= f.scores[i], "scores sorted");

  // OpenCV's packed descriptors for the same image and detector settings, by keypoint.
  const cv = await loadOpenCv();
  const grey = rgbToGrey(image);
  const mat = new cv.Mat(grey.height, grey.width, cv.CV_8UC1);
  mat.data.set(grey.data);
  const detector = new cv.ORB(300);
  const [mask, kp, desc] = [new cv.Mat(), new cv.KeyPointVector(), new cv.Mat()];
  detector.detectAndCompute(mat, mask, kp, desc);
  const rowOf = new Map<string, number>();
  for (let r = 0; r < kp.size(); r++) {
    const k = kp.get(r);
    rowOf.set(`${Math.fround(k.pt.x)},${Math.fround(k.pt.y)},${Math.fround(k.response)}`, r);
  }
  const rows = Array.from(f.scores, (s, i) => rowOf.get(`${f.keypoints[2 * i]},${f.keypoints[2 * i + 1]},${s}`));
  assert.ok(rows.every((r) => r !== undefined), "every keypoint of ours is one of OpenCV's");

  // a.b = v^2 (D - 2 hamming) with v = 1/16, D = 256: exact in float32.
  const n = Math.min(f.scores.length, 40);
  const distinct = new Set<number>();
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const ri = desc.row(rows[i]!), rj = desc.row(rows[j]!);
      const hamming = cv.norm1(ri, rj, cv.NORM_HAMMING);
      ri.delete();
      rj.delete();
      let dot = 0;
      for (let k = 0; k < 256; k++) dot += f.descriptors[i * 256 + k] * f.descriptors[j * 256 + k];
      assert.equal(dot, (256 - 2 * hamming) / 256, `keypoints ${i}, ${j}: OpenCV Hamming ${hamming}`);
      distinct.add(hamming);
    }
  }
  assert.ok(distinct.size > 10, "the pairs span many distances");
  [mat, mask, kp, desc, detector].forEach((m) => m.delete());
  fs.rmSync(root, { recursive: true, force: true });
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
