import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { readRgb, RgbImage } from "../../lib/data/image";
import { classicalTargets, createClassicalTeacher } from "../../lib/teachers/classical";
import { felzenszwalb } from "../../lib/teachers/felzenszwalb";
import { annotationDir, annotationFiles, consensusIndex, createHumanTeacher, humanTargets, randIndex, readLabelMap } from "../../lib/teachers/human";
import { coMembershipEmbedding, embeddingGrid, gridPixel, labelBoundaries } from "../../lib/teachers/teacher";

const ROOT = path.resolve(__dirname, "../..");
const BSDS_IMAGE = path.join(ROOT, "data/bsds500/images/train/100075.jpg");

function cosine(e: Float32Array, c: number, p: number, q: number): number {
  let dot = 0, np = 0, nq = 0;
  for (let k = 0; k < c; k++) {
    dot += e[p * c + k] * e[q * c + k];
    np += e[p * c + k] ** 2;
    nq += e[q * c + k] ** 2;
  }
  return dot / Math.sqrt(np * nq);
}

// Two annotators on a 4x4 image: four quadrants, and top/bottom halves.
const QUADRANTS = Int32Array.from([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
const HALVES = Int32Array.from([1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2]);

test("co-membership embedding of two annotators: cosines are exactly the fraction of agreeing annotators", () => {
  const out = humanTargets([QUADRANTS, HALVES], 4, 4, 1);
  assert.deepEqual(out.embeddingShape, [4, 4, 6]); // 4 + 2 labels
  const cos = (p: number, q: number) => cosine(out.embedding, 6, p, q);
  // Same quadrant: both agree.
  assert.ok(Math.abs(cos(0, 5) - 1) < 1e-6);
  // Same half, different quadrant: one of two.
  assert.ok(Math.abs(cos(0, 2) - 0.5) < 1e-6);
  assert.ok(Math.abs(cos(9, 15) - 0.5) < 1e-6);
  // Different halves: none.
  assert.equal(cos(0, 8), 0);
  assert.equal(cos(3, 12), 0);
  // Every pair against a direct count.
  for (let p = 0; p < 16; p++) {
    for (let q = 0; q < 16; q++) {
      const agree = (Number(QUADRANTS[p] === QUADRANTS[q]) + Number(HALVES[p] === HALVES[q])) / 2;
      assert.ok(Math.abs(cos(p, q) - agree) < 1e-6, `pixels ${p},${q}`);
    }
  }
});

test("edges of known label maps: both sides of each change, as the fraction of annotators", () => {
  const b = labelBoundaries(QUADRANTS, 4, 4);
  assert.deepEqual([...b], [0, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 0]);
  const out = humanTargets([QUADRANTS, HALVES], 4, 4, 1);
  // Halves mark rows 1 and 2 only; quadrants also columns 1 and 2.
  assert.deepEqual([...out.edges], [0, 0.5, 0.5, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0.5, 0.5, 0]);
  // A single vertical step in a 3x5 map: columns 1 and 2 only.
  const step = Int32Array.from([7, 7, 9, 9, 9, 7, 7, 9, 9, 9, 7, 7, 9, 9, 9]);
  assert.deepEqual([...labelBoundaries(step, 3, 5)], [0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0]);
});

test("embedding grid: stride 8, each cell samples pixel 8i+4 (clamped)", () => {
  assert.deepEqual(embeddingGrid(321, 481), { h: 41, w: 61 });
  assert.equal(gridPixel(0, 321), 4);
  assert.equal(gridPixel(40, 321), 320); // 324 clamped
  // 12x20 map whose label is the column: cell j must read column 8j+4 (4, 12, 19).
  const cols = Int32Array.from({ length: 240 }, (_, p) => p % 20);
  const { embedding, shape } = coMembershipEmbedding([cols], 12, 20);
  assert.deepEqual(shape, [2, 3, 3]);
  assert.equal(cosine(embedding, 3, 0, 3), 1); // same column, rows 4 and 11
  assert.equal(cosine(embedding, 3, 0, 1), 0);
});

test("consensus groups: the annotator agreeing best with the others (Rand index)", () => {
  const one = new Int32Array(16).fill(1);
  // Rand indices by pair counting over 120 pixel pairs: (one, halves) 56/120, (halves, quadrants) 88/120, (one, quadrants) 24/120.
  assert.ok(Math.abs(randIndex(one, HALVES) - 56 / 120) < 1e-12);
  assert.ok(Math.abs(randIndex(HALVES, QUADRANTS) - 88 / 120) < 1e-12);
  assert.ok(Math.abs(randIndex(one, QUADRANTS) - 24 / 120) < 1e-12);
  assert.equal(consensusIndex([one, HALVES, QUADRANTS]), 1);
  assert.deepEqual([...humanTargets([one, HALVES, QUADRANTS], 4, 4, 1).groups], [...HALVES]);
});

test("human teacher on a BSDS500 image: shapes, edge range, and cosines equal to direct annotator counts", async () => {
  const image = await readRgb(BSDS_IMAGE);
  const teacher = createHumanTeacher();
  const out = await teacher.teach({ image, file: BSDS_IMAGE });
  const files = annotationFiles(BSDS_IMAGE);
  assert.equal(path.dirname(files[0]), annotationDir(BSDS_IMAGE));
  const maps = await Promise.all(files.map(readLabelMap));
  const [h, w, c] = out.embeddingShape;
  assert.deepEqual([h, w], [Math.ceil(image.height / 8), Math.ceil(image.width / 8)]);
  assert.equal(out.groups.length, image.width * image.height);
  assert.ok(out.edges.every((v) => v >= 0 && v <= 1));
  assert.ok(out.edges.some((v) => v === 1));
  const K = maps.length;
  // A few cell pairs, checked against the label maps themselves.
  const cells = [0, 17, 400, 1234, h * w - 1];
  for (const p of cells) {
    for (const q of cells) {
      const pix = (cell: number) => gridPixel(Math.floor(cell / w), image.height) * image.width + gridPixel(cell % w, image.width);
      const agree = maps.filter((m) => m.labels[pix(p)] === m.labels[pix(q)]).length / K;
      assert.ok(Math.abs(cosine(out.embedding, c, p, q) - agree) < 1e-6);
    }
  }
  // The source key follows the annotation files; a different image has a different one.
  assert.notEqual(teacher.sourceKey({ image, file: BSDS_IMAGE }), teacher.sourceKey({ image, file: path.join(ROOT, "data/bsds500/images/train/100080.jpg") }));
  await assert.rejects(teacher.teach({ image, file: "/nowhere/images/x/1.jpg" }), /no human annotations/);
});

test("Felzenszwalb-Huttenlocher: two flat regions give two segments split at the colour step", () => {
  const W = 40, H = 32;
  const data = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data.fill(x < 15 ? 20 : 220, 3 * (y * W + x), 3 * (y * W + x) + 3);
  const img: RgbImage = { width: W, height: H, data };
  // Unsmoothed, the step is one edge of weight 200 between two components whose thresholds are below 1.
  const labels = felzenszwalb(img, { k: 300, sigma: 0, minSize: 20 });
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) assert.equal(labels[y * W + x], x < 15 ? 1 : 2, `pixel ${x},${y}`);
  // Smoothing makes sliver columns at the step, which the teacher's minimum sizes (>= 100) absorb:
  // every scale then splits at the step too, so edges lie at columns 14 and 15 only, cosines are 0 or 1.
  const out = classicalTargets(img);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) assert.equal(out.edges[y * W + x], x === 14 || x === 15 ? 1 : 0);
  const [, w, c] = out.embeddingShape;
  assert.equal(c, 6); // 2 segments x 3 scales
  assert.equal(cosine(out.embedding, c, 0, 1), 1); // pixels 4 and 12: left
  assert.ok(Math.abs(cosine(out.embedding, c, 0, w - 1)) < 1e-7); // pixel 36: right
});

test("classical teacher on a BSDS500 image: several segments, cosines in thirds, identity names its parameters", async () => {
  const image = await readRgb(BSDS_IMAGE);
  const teacher = createClassicalTeacher();
  const out = await teacher.teach({ image, file: BSDS_IMAGE });
  const segments = new Set(out.groups).size;
  assert.ok(segments > 5 && segments < 500, `${segments} segments`);
  assert.ok(!out.groups.includes(0));
  const [h, w, c] = out.embeddingShape;
  for (let q = 1; q < h * w; q += 97) {
    const cos = cosine(out.embedding, c, 0, q);
    assert.ok([0, 1 / 3, 2 / 3, 1].some((v) => Math.abs(cos - v) < 1e-6), `cos ${cos}`);
  }
  assert.equal(teacher.identity.name, "classical");
  assert.equal((teacher.identity.params.scales as unknown[]).length, 3);
  const tiny: RgbImage = { width: 16, height: 40, data: new Uint8Array(16 * 40 * 3) };
  await assert.rejects(teacher.teach({ image: tiny, file: "tiny.png" }), /tiny\.png: image is 16x40/);
});
