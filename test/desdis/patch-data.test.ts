import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildHeldOut, heldOutKey, loadHeldOut, saveHeldOut } from "../../lib/desdis/held-out";
import { PATCH_DATA_DEFAULTS, PatchPairSchedule } from "../../lib/desdis/patch-pairs";
import { gridKeypoints, photoSources, tinyHeldOut } from "./helpers";

const options = { ...PATCH_DATA_DEFAULTS, batch: 32, pairsPerImage: 8, support: 40 };

test("a batch is a pure function of (seed, step): same seed same bytes, another step or seed other patches", async () => {
  const sources = await photoSources();
  const a = new PatchPairSchedule(sources, options, 3);
  const b = new PatchPairSchedule(sources, options, 3);
  const later = b.batch(5); // a schedule that skipped ahead gives the same step 5
  assert.deepEqual(a.batch(5).anchors, later.anchors);
  assert.deepEqual(b.batch(5).positives, later.positives);
  assert.notDeepEqual(a.batch(6).anchors, later.anchors);
  assert.notDeepEqual(new PatchPairSchedule(sources, options, 4).batch(5).anchors, later.anchors);
});

test("classes never repeat within a batch, and pairs of one image are minSeparation apart", async () => {
  const sources = await photoSources();
  const schedule = new PatchPairSchedule(sources, options, 0);
  for (const step of [0, 1, 7]) {
    const b = schedule.batch(step);
    const seen = new Set<string>();
    for (let i = 0; i < options.batch; i++) {
      const key = `${b.images[i]}/${b.keypoints[i]}/${b.points[2 * i]}/${b.points[2 * i + 1]}`;
      assert.ok(!seen.has(key), `step ${step}: class ${key} twice`);
      seen.add(key);
      for (let j = 0; j < i; j++) {
        if (b.images[j] !== b.images[i]) continue;
        const d = Math.hypot(b.points[2 * i] - b.points[2 * j], b.points[2 * i + 1] - b.points[2 * j + 1]);
        assert.ok(d >= options.minSeparation, `step ${step}: classes ${i} and ${j} are ${d} px apart`);
      }
    }
    // A grid keypoint is used when one fits, and the anchor shows its point: values are 0..255 grey.
    assert.ok(b.keypoints.every((k) => k >= 0));
    assert.ok(b.anchors.every((v) => v >= 0 && v <= 255));
  }
});

test("matching pairs look alike: anchors correlate with their own positives far more than with others", async () => {
  const sources = await photoSources();
  const b = new PatchPairSchedule(sources, { ...options, noise: { add: 0, logContrast: 0, sigma: 0 } }, 1).batch(0);
  const corr = (x: Float32Array, i: number, y: Float32Array, j: number) => {
    const n = 1024;
    let mx = 0, my = 0;
    for (let k = 0; k < n; k++) [mx, my] = [mx + x[i * n + k] / n, my + y[j * n + k] / n];
    let sxy = 0, sxx = 0, syy = 0;
    for (let k = 0; k < n; k++) {
      const dx = x[i * n + k] - mx, dy = y[j * n + k] - my;
      [sxy, sxx, syy] = [sxy + dx * dy, sxx + dx * dx, syy + dy * dy];
    }
    return sxy / Math.sqrt(sxx * syy + 1e-9);
  };
  let same = 0, other = 0;
  for (let i = 0; i < options.batch; i++) {
    same += corr(b.anchors, i, b.positives, i) / options.batch;
    other += corr(b.anchors, i, b.positives, (i + 1) % options.batch) / options.batch;
  }
  assert.ok(same > 0.6, `mean correlation of matching pairs ${same}`);
  assert.ok(other < 0.3, `mean correlation of non-matching pairs ${other}`);
});

test("an image too small for its pairs' supports is an error naming the file", () => {
  const tiny = { file: "tiny.png", grey: { width: 16, height: 16, data: new Float32Array(256) }, keypoints: gridKeypoints(16, 16, 4, 4) };
  assert.throws(() => new PatchPairSchedule([tiny], options, 0).batch(0), /tiny\.png: only 0 of 8 patch supports fit in the 16x16 image/);
});

test("the held-out set is deterministic, round-trips through its file, and pairs are balanced", async () => {
  const { root, set, opts } = await tinyHeldOut();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "held-out-"));
  try {
    const again = await buildHeldOut(opts, async (img) => gridKeypoints(img.width, img.height, 16, 30), { quiet: true });
    assert.deepEqual(again.patches, set.patches);
    assert.deepEqual(again.pairs, set.pairs);
    // 2 sequences x 12 classes x 2 images; one positive and one negative per non-reference patch.
    assert.equal(set.sequence.length, 2 * 12 * 2);
    assert.equal(set.labels.length, 2 * 24);
    assert.equal(set.labels.reduce((s, v) => s + v, 0), 24);
    const file = path.join(dir, "h.safetensors");
    saveHeldOut(file, set);
    const back = loadHeldOut(file);
    assert.deepEqual(back.patches, set.patches);
    assert.deepEqual(back.cls, set.cls);
    assert.deepEqual(back.pairs, set.pairs);
    assert.deepEqual(back.sequences, set.sequences);
    assert.equal(heldOutKey(opts, { name: "grid" }), heldOutKey({ ...opts }, { name: "grid" }));
    assert.notEqual(heldOutKey(opts, { name: "grid" }), heldOutKey({ ...opts, seed: 6 }, { name: "grid" }));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(root, { recursive: true, force: true });
  }
});
