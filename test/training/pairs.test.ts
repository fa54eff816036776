import { test } from "node:test";
import assert from "node:assert/strict";
import { RgbImage } from "../../lib/data/image";
import { applyToPoint } from "../../lib/geometry/homography";
import { Rng } from "../../lib/geometry/random";
import { makePair, PairSource } from "../../lib/training/pairs";
import { BatchSchedule } from "../../lib/training/schedule";
import { TeacherOutput } from "../../lib/teachers/teacher";

// A W x H source whose pixels, teacher cells and labels encode their own position, so every cut
// and warp can be checked against the coordinates it should have come from.
const W = 120, H = 88;
function source(): PairSource {
  // A smooth image (linear in x and y) so bilinear warps reproduce values exactly up to rounding.
  const data = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      data[(y * W + x) * 3] = 2 * x;
      data[(y * W + x) * 3 + 1] = 2 * y;
      data[(y * W + x) * 3 + 2] = 100;
    }
  }
  const image: RgbImage = { width: W, height: H, data };
  const gh = Math.ceil(H / 8), gw = Math.ceil(W / 8), C = 2;
  const embedding = new Float32Array(gh * gw * C);
  for (let i = 0; i < gh; i++) for (let j = 0; j < gw; j++) embedding.set([i, j], (i * gw + j) * C);
  const groups = new Int32Array(W * H);
  const edges = new Float32Array(W * H);
  for (let p = 0; p < W * H; p++) {
    groups[p] = p; // label = its own pixel index
    edges[p] = (p % W) / W; // edge value = x / W
  }
  const teacher: TeacherOutput = { height: H, width: W, embedding, embeddingShape: [gh, gw, C], groups, edges };
  // Labels on a 10 px lattice.
  const pts: number[] = [];
  for (let y = 5; y < H; y += 10) for (let x = 5; x < W; x += 10) pts.push(x, y);
  return { image, teacher, keypoints: Float32Array.from(pts) };
}

const S = 48;
const noPhoto = { size: S, photometricProbability: 0 };

test("identity pair: the second view is an exact copy with the same points, labels and teacher targets", () => {
  const p = makePair(source(), new Rng(1), { ...noPhoto, identityProbability: 1 });
  const [a, b] = p.views;
  assert.deepEqual(p.homography, [1, 0, 0, 0, 1, 0, 0, 0, 1]);
  assert.deepEqual(b.image.data, a.image.data);
  assert.deepEqual(b.points, a.points);
  assert.deepEqual(b.keypointMap, a.keypointMap);
  assert.ok(b.teacherFlag && a.teacherFlag);
  assert.deepEqual(b.embedding, a.embedding);
  assert.deepEqual(b.categories, a.categories);
  assert.ok(p.valid.every((v) => v === 1));
  // pointsPerSide^2 grid points, one per cell.
  assert.equal(a.points.length, 2 * 16 ** 2);
  for (let k = 0; k < 256; k++) {
    const [i, j] = [Math.floor(k / 16), k % 16];
    assert.ok(a.points[2 * k] >= j * (S / 16) && a.points[2 * k] <= (j + 1) * (S / 16), `point ${k} in its cell`);
    assert.ok(a.points[2 * k + 1] >= i * (S / 16) && a.points[2 * k + 1] <= (i + 1) * (S / 16));
  }
});

test("crop: image, groups, edges and embedding cells are cut at the same origin on the stride-8 grid", () => {
  for (let seed = 0; seed < 5; seed++) {
    const p = makePair(source(), new Rng(seed), { ...noPhoto, identityProbability: 1 });
    const v = p.views[0];
    // Pixel (0,0) of the crop encodes its origin: R = 2 x0, G = 2 y0.
    const x0 = v.image.data[0] / 2, y0 = v.image.data[1] / 2;
    assert.equal(x0 % 8, 0);
    assert.equal(y0 % 8, 0);
    // Embedding cell (i,j) of the crop is the source cell (y0/8 + i, x0/8 + j).
    const cells = S / 8;
    for (let i = 0; i < cells; i++) {
      for (let j = 0; j < cells; j++) assert.deepEqual(Array.from(v.embedding.subarray((i * cells + j) * 2, (i * cells + j) * 2 + 2)), [y0 / 8 + i, x0 / 8 + j]);
    }
    // Categories are the groups at the rounded point: pixel index in the source.
    for (let k = 0; k < v.categories.length; k++) {
      const x = Math.round(v.points[2 * k]), y = Math.round(v.points[2 * k + 1]);
      assert.equal(v.categories[k], (y0 + y) * W + x0 + x);
    }
    assert.ok(Math.abs(v.edges[0] - x0 / W) < 1e-6);
    // Labels on the source's 10 px lattice, shifted by the origin.
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const onLattice = (x0 + x) % 10 === 5 && (y0 + y) % 10 === 5;
        assert.equal(v.keypointMap[y * S + x], onLattice ? 1 : 0, `(${x}, ${y})`);
      }
    }
  }
});

test("warped pair: correspondences are H of the first-view points; the warped view shows the content H says; labels follow H", () => {
  for (let seed = 0; seed < 3; seed++) {
    const p = makePair(source(), new Rng(seed), { ...noPhoto, identityProbability: 0, sampler: { allowArtifacts: false } });
    const [a, b] = p.views;
    const x0 = a.image.data[0] / 2, y0 = a.image.data[1] / 2;
    assert.ok(!b.teacherFlag && b.categories.every((c) => c === -1) && b.edges.every((e) => e === 0));
    let valid = 0;
    for (let k = 0; k < p.valid.length; k++) {
      const [x1, y1] = applyToPoint(p.homography, a.points[2 * k], a.points[2 * k + 1]);
      const inside = x1 >= 0 && y1 >= 0 && x1 <= S - 1 && y1 <= S - 1;
      assert.equal(p.valid[k], inside ? 1 : 0);
      if (!inside) continue;
      valid++;
      assert.ok(Math.abs(b.points[2 * k] - x1) < 1e-3 && Math.abs(b.points[2 * k + 1] - y1) < 1e-3);
    }
    assert.ok(valid > 0);
    // The source is linear (R = 2x, G = 2y), so a warped pixel (X, Y) holds R = 2 (x0 + u), G = 2 (y0 + v)
    // with (u, v) = H^-1 (X, Y), up to the rounding to 8 bits.
    const inv = invertH(p.homography);
    for (let Y = 0; Y < S; Y++) {
      for (let X = 0; X < S; X++) {
        if (!b.pointMask[Y * S + X]) continue;
        const [u, v] = applyToPoint(inv, X, Y);
        const o = (Y * S + X) * 3;
        assert.ok(Math.abs(b.image.data[o] - 2 * (x0 + u)) <= 0.51 && Math.abs(b.image.data[o + 1] - 2 * (y0 + v)) <= 0.51, `(${X}, ${Y})`);
      }
    }
    // Every labelled pixel of the warped view comes from a lattice point (5 mod 10) of the source:
    // H^-1 of the pixel lands within a rounding (<= 0.71 px in the warped frame, scaled by H) of one.
    for (let Y = 0; Y < S; Y++) {
      for (let X = 0; X < S; X++) {
        if (!b.keypointMap[Y * S + X]) continue;
        const [u, v] = applyToPoint(inv, X, Y);
        const su = u + x0, sv = v + y0;
        const d = Math.hypot(su - (Math.round((su - 5) / 10) * 10 + 5), sv - (Math.round((sv - 5) / 10) * 10 + 5));
        assert.ok(d < 2, `label at (${X}, ${Y}) maps back ${d.toFixed(2)} px from a lattice point`);
      }
    }
  }
});

function invertH(h: number[]): number[] {
  const [a, b, c, d, e, f, g, hh, i] = h;
  const A = e * i - f * hh, B = -(d * i - f * g), C = d * hh - e * g;
  const det = a * A + b * B + c * C;
  return [A, -(b * i - c * hh), b * f - c * e, B, a * i - c * g, -(a * f - c * d), C, -(a * hh - b * g), a * e - b * d].map((v) => v / det);
}

test("not-search mask: j is no negative for i when within 16 px in the second view or invalid; the diagonal is masked", () => {
  const p = makePair(source(), new Rng(7), { ...noPhoto, identityProbability: 0 });
  const n = p.valid.length;
  // Second-view positions from H (the stored points of invalid correspondences are zeroed).
  const pts = Array.from({ length: n }, (_, k) => applyToPoint(p.homography, p.views[0].points[2 * k], p.views[0].points[2 * k + 1])).flat();
  assert.ok(p.valid.some((v) => v === 0) && p.valid.some((v) => v === 1));
  for (let i = 0; i < n; i++) {
    assert.equal(p.notSearch[i * n + i], 1);
    for (let j = 0; j < n; j++) {
      const near = Math.hypot(pts[2 * i] - pts[2 * j], pts[2 * i + 1] - pts[2 * j + 1]) <= 16;
      assert.equal(p.notSearch[i * n + j], !p.valid[j] || near ? 1 : 0, `(${i}, ${j})`);
    }
  }
});

test("warpTeacher carries the teacher targets into the warped view (extension)", () => {
  const p = makePair(source(), new Rng(3), { ...noPhoto, identityProbability: 0, warpTeacher: true, sampler: { allowArtifacts: false } });
  const [a, b] = p.views;
  assert.ok(b.teacherFlag);
  const x0 = a.image.data[0] / 2, y0 = a.image.data[1] / 2;
  const inv = invertH(p.homography);
  let checked = 0;
  for (let k = 0; k < p.valid.length; k++) {
    if (!p.valid[k] || b.categories[k] < 0) continue;
    // The warped view's group at a point is the source pixel its nearest pixel comes from.
    const [u, v] = applyToPoint(inv, Math.round(b.points[2 * k]), Math.round(b.points[2 * k + 1]));
    assert.equal(b.categories[k], (y0 + Math.round(v)) * W + x0 + Math.round(u));
    checked++;
  }
  assert.ok(checked > 10);
});

test("a pair is a pure function of its seed; different seeds differ", () => {
  const a = makePair(source(), new Rng(11), { size: S });
  const b = makePair(source(), new Rng(11), { size: S });
  const c = makePair(source(), new Rng(12), { size: S });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.views[1].image.data, c.views[1].image.data);
});

test("batch schedule: every image once per epoch, and step k is the same whether or not earlier steps were asked for", () => {
  const s = new BatchSchedule(10, 4, 5);
  const seen = [...s.step(0), ...s.step(1)].map((e) => e.image);
  const third = s.step(2).map((e) => e.image); // images 8, 9 of epoch 0, then 0, 1 of epoch 1
  assert.deepEqual([...seen, ...third.slice(0, 2)].sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const fresh = new BatchSchedule(10, 4, 5);
  assert.deepEqual(fresh.step(2), s.step(2));
  assert.notDeepEqual(new BatchSchedule(10, 4, 6).step(0), new BatchSchedule(10, 4, 5).step(0));
  const seeds = new Set([0, 1, 2].flatMap((k) => s.step(k).map((e) => e.seed)));
  assert.equal(seeds.size, 12);
});
