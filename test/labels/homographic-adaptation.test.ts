import { before, test } from "node:test";
import assert from "node:assert/strict";
import type { RgbImage } from "../../lib/data/image";
import { detectKeypoints } from "../../lib/eval/keypoints";
import { loadOpenCv, OpenCv } from "../../lib/eval/opencv";
import { insideImage } from "../../lib/geometry/homography";
import { warpRaster } from "../../lib/geometry/warp";
import {
  aggregateResponse,
  greyFloat,
  HA_DEFAULTS,
  harrisScore,
  homographicAdaptation,
  idealCornerResponse,
  labelerIdentity,
  viewHomographies,
} from "../../lib/labels/homographic-adaptation";

let cv: OpenCv;
before(async () => {
  cv = await loadOpenCv();
});

/** Bright axis-aligned rectangles [x0, y0, x1, y1) of value `v` on a dark background; corners at the pixel boundaries. */
function rectangles(width: number, height: number, rects: [number, number, number, number, number][], background = 30): { image: RgbImage; corners: [number, number][] } {
  const data = new Uint8Array(width * height * 3).fill(background);
  const corners: [number, number][] = [];
  for (const [x0, y0, x1, y1, v] of rects) {
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) data.fill(v, 3 * (y * width + x), 3 * (y * width + x) + 3);
    // The corner point lies between the last background and the first bright pixel.
    corners.push([x0 - 0.5, y0 - 0.5], [x1 - 0.5, y0 - 0.5], [x0 - 0.5, y1 - 0.5], [x1 - 0.5, y1 - 0.5]);
  }
  return { image: { width, height, data }, corners };
}

const SCENE = rectangles(160, 120, [
  [20, 20, 60, 55, 230],
  [90, 15, 140, 45, 180],
  [70, 70, 120, 105, 250],
]);

function nearest(x: number, y: number, corners: [number, number][]): number {
  return Math.min(...corners.map(([cx, cy]) => Math.hypot(cx - x, cy - y)));
}

test("aggregated labels land on the known corners of a synthetic scene, and nowhere else", () => {
  const labels = homographicAdaptation(cv, SCENE.image);
  assert.equal(labels.width, 160);
  assert.equal(labels.height, 120);
  const n = labels.scores.length;
  assert.equal(labels.points.length, 2 * n);
  // Every corner found within 1.5 px (labels are integer pixels; the corner is at a half pixel).
  for (const [cx, cy] of SCENE.corners) {
    let best = Infinity;
    for (let i = 0; i < n; i++) best = Math.min(best, Math.hypot(labels.points[2 * i] - cx, labels.points[2 * i + 1] - cy));
    assert.ok(best <= 1.5, `corner (${cx}, ${cy}): nearest label ${best.toFixed(2)} px away`);
  }
  // Nothing far from a corner: edges and flat areas give no labels.
  for (let i = 0; i < n; i++) {
    const d = nearest(labels.points[2 * i], labels.points[2 * i + 1], SCENE.corners);
    assert.ok(d <= 2, `label (${labels.points[2 * i]}, ${labels.points[2 * i + 1]}) is ${d.toFixed(2)} px from every corner`);
  }
  assert.ok(n <= SCENE.corners.length + 2, `${n} labels for ${SCENE.corners.length} corners`);
  // Sorted by score, all above the threshold; brighter squares (more contrast) score higher.
  for (let i = 1; i < n; i++) assert.ok(labels.scores[i] <= labels.scores[i - 1]);
  assert.ok(labels.scores[n - 1] >= HA_DEFAULTS.threshold);
});

test("the score unit: an ideal black/white corner scores about 1, a corner of half the contrast about 0.5", () => {
  const n = 32;
  const grey = new Float32Array(n * n);
  for (let y = 16; y < n; y++) for (let x = 16; x < n; x++) grey[y * n + x] = 1;
  const full = harrisScore(cv, grey, n, n, HA_DEFAULTS.harris);
  assert.ok(Math.abs(Math.max(...full) - 1) < 1e-5);
  const half = harrisScore(cv, grey.map((v) => 0.25 + 0.5 * v), n, n, HA_DEFAULTS.harris);
  assert.ok(Math.abs(Math.max(...half) - 0.5) < 1e-3, `${Math.max(...half)}`);
  assert.ok(idealCornerResponse(cv, HA_DEFAULTS.harris) > 0);
});

test("no homographies (N = 0) is exactly SuperPoint NMS of the single Harris response", () => {
  const img = SCENE.image;
  const noisy: RgbImage = { ...img, data: img.data.map((v, i) => Math.min(255, v + ((i * 7919) % 23))) };
  for (const image of [img, noisy]) {
    const opts = { homographies: 0, threshold: 0.02, topK: 50 };
    const labels = homographicAdaptation(cv, image, opts);
    const score = harrisScore(cv, greyFloat(image), image.width, image.height, HA_DEFAULTS.harris);
    const agg = aggregateResponse(cv, image, opts);
    assert.deepEqual(agg.map, score);
    assert.ok(agg.count.every((c) => c === 1));
    const plain = detectKeypoints(score, image.width, image.height, { threshold: 0.02, nmsRadius: 4, border: 4, topK: 50 });
    assert.ok(plain.scores.length > 0);
    assert.deepEqual(labels.points, plain.keypoints);
    assert.deepEqual(labels.scores, plain.scores);
  }
});

test("aggregation is the mean over the views that see each pixel", () => {
  const opts = { homographies: 6 };
  const agg = aggregateResponse(cv, SCENE.image, opts);
  const hs = viewHomographies(160, 120, opts);
  assert.equal(hs.length, 6);
  // Count = 1 (the image) + the views whose frame (less the margin) contains the pixel.
  const m = HA_DEFAULTS.viewMargin;
  for (const [x, y] of [[0, 0], [80, 60], [159, 119], [10, 100], [150, 5], [40, 30]]) {
    let seen = 1;
    for (const g of hs) {
      const w = g[6] * x + g[7] * y + g[8];
      const q = [(g[0] * x + g[1] * y + g[2]) / w, (g[3] * x + g[4] * y + g[5]) / w];
      seen += insideImage(q, 160, 120, m)[0];
    }
    assert.equal(agg.count[y * 160 + x], seen, `pixel (${x}, ${y})`);
  }
  // Mild, artifact-free views zoom in: the image centre is seen by every view, the corners only by the image.
  assert.equal(agg.count[60 * 160 + 80], 7);
  assert.equal(agg.count[0], 1);
  // Flat regions stay zero whatever the view.
  assert.equal(agg.map[110 * 160 + 5], 0);

  // The value near a corner, by hand: the image's own score plus each view's score read (bilinearly)
  // at the pixel's position in that view, divided by the number of views that see it.
  const grey = greyFloat(SCENE.image);
  const own = harrisScore(cv, grey, 160, 120, HA_DEFAULTS.harris);
  const views = hs.map((g) => harrisScore(cv, warpRaster({ width: 160, height: 120, channels: 1, data: grey }, g).data, 160, 120, HA_DEFAULTS.harris));
  for (const [x, y] of [[20, 20], [59, 54], [89, 44], [70, 104]]) {
    let sum = own[y * 160 + x], n = 1;
    hs.forEach((g, v) => {
      const w = g[6] * x + g[7] * y + g[8];
      const u = (g[0] * x + g[1] * y + g[2]) / w, t = (g[3] * x + g[4] * y + g[5]) / w;
      if (!insideImage([u, t], 160, 120, m)[0]) return;
      const x0 = Math.floor(u), y0 = Math.floor(t), fx = u - x0, fy = t - y0, s = views[v];
      const at = (xx: number, yy: number) => s[yy * 160 + xx];
      sum += (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) + fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1));
      n++;
    });
    assert.ok(sum > 0);
    assert.ok(Math.abs(agg.map[y * 160 + x] - sum / n) < 1e-6, `pixel (${x}, ${y}): ${agg.map[y * 160 + x]} vs ${sum / n}`);
  }
});

test("deterministic: the same image and options give the same labels bit for bit; the seed changes the views", () => {
  const a = homographicAdaptation(cv, SCENE.image, { homographies: 8, seed: 3 });
  const b = homographicAdaptation(cv, SCENE.image, { homographies: 8, seed: 3 });
  assert.deepEqual(a, b);
  assert.deepEqual(viewHomographies(160, 120, { homographies: 8, seed: 3 }), viewHomographies(160, 120, { homographies: 8, seed: 3 }));
  assert.notDeepEqual(viewHomographies(160, 120, { homographies: 8, seed: 3 }), viewHomographies(160, 120, { homographies: 8, seed: 4 }));
  const c = aggregateResponse(cv, SCENE.image, { homographies: 8, seed: 4 });
  assert.notDeepEqual(c.map, aggregateResponse(cv, SCENE.image, { homographies: 8, seed: 3 }).map);
});

test("the identity names the detector and every parameter", () => {
  const id = labelerIdentity();
  assert.equal(id.name, "homographic-harris");
  assert.equal(id.version, 1);
  assert.equal(id.params.homographies, 32);
  assert.equal(id.params.seed, 0);
  assert.deepEqual(id.params.harris, { blockSize: 3, ksize: 3, k: 0.04 });
  assert.equal((id.params.sampler as { allowArtifacts: boolean }).allowArtifacts, false);
  assert.notDeepEqual(labelerIdentity({ homographies: 4 }), id);
  assert.throws(() => homographicAdaptation(cv, { width: 4, height: 4, data: new Uint8Array(48) }), /4x4/);
});
