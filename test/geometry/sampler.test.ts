import { test } from "node:test";
import assert from "node:assert/strict";
import { applyToPoint } from "../../lib/geometry/homography";
import { Rng } from "../../lib/geometry/random";
import { sampleHomography, samplePatch } from "../../lib/geometry/sampler";

const W = 320, Hh = 240;
const corners: [number, number][] = [
  [0, 0],
  [0, Hh - 1],
  [W - 1, Hh - 1],
  [W - 1, 0],
];

test("with every perturbation off, the image maps onto the centred 0.8 patch", () => {
  const h = sampleHomography(W, Hh, new Rng(1), { perspective: false, scaling: false, translation: false, rotation: false });
  // margin 0.1 of (W-1, H-1) on each side
  const expected = [
    [31.9, 23.9],
    [31.9, 215.1],
    [287.1, 215.1],
    [287.1, 23.9],
  ];
  corners.forEach(([x, y], i) => {
    const [u, v] = applyToPoint(h, x, y);
    assert.ok(Math.abs(u - expected[i][0]) < 1e-9 && Math.abs(v - expected[i][1]) < 1e-9, `corner ${i}: (${u}, ${v})`);
  });
});

test("without artifacts, every sampled patch stays inside the image", () => {
  for (let seed = 0; seed < 300; seed++) {
    const h = sampleHomography(W, Hh, new Rng(seed), { allowArtifacts: false });
    for (const [x, y] of corners) {
      const [u, v] = applyToPoint(h, x, y);
      assert.ok(u >= -1e-9 && v >= -1e-9 && u <= W - 1 + 1e-9 && v <= Hh - 1 + 1e-9, `seed ${seed}: corner -> (${u}, ${v})`);
    }
  }
});

test("with artifacts allowed, the patch centre stays inside the image and the patch stays convex", () => {
  for (let seed = 0; seed < 300; seed++) {
    const q = samplePatch(new Rng(seed));
    const cx = q.reduce((s, p) => s + p[0], 0) / 4, cy = q.reduce((s, p) => s + p[1], 0) / 4;
    assert.ok(cx >= 0 && cx <= 1 && cy >= 0 && cy <= 1, `seed ${seed}: centre (${cx}, ${cy})`);
    // consistent orientation of consecutive edges = convex, non-degenerate quadrilateral
    const cross = q.map((p, i) => {
      const a = q[(i + 1) % 4], b = q[(i + 2) % 4];
      return (a[0] - p[0]) * (b[1] - a[1]) - (a[1] - p[1]) * (b[0] - a[0]);
    });
    assert.ok(cross.every((c) => c > 0) || cross.every((c) => c < 0), `seed ${seed}: not convex`);
  }
});

test("the same seed reproduces the same homography; different seeds differ", () => {
  assert.deepEqual(sampleHomography(W, Hh, new Rng(42)), sampleHomography(W, Hh, new Rng(42)));
  assert.notDeepEqual(sampleHomography(W, Hh, new Rng(42)), sampleHomography(W, Hh, new Rng(43)));
});

test("scales are drawn in [0.8, 2.0] (or 1): the square patch side is 0.8 times the scale", () => {
  for (let seed = 0; seed < 100; seed++) {
    const q = samplePatch(new Rng(seed), { perspective: false, rotation: false, translation: false });
    const side = q[2][0] - q[0][0];
    const s = side / 0.8;
    assert.ok(s >= 0.8 - 1e-12 && s <= 2.0 + 1e-12, `seed ${seed}: scale ${s}`);
  }
});
