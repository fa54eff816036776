import { test } from "node:test";
import assert from "node:assert/strict";
import {
  applyToPoint,
  determinant,
  formatHomography,
  fromCorrespondences,
  IDENTITY,
  invert,
  isSingular,
  multiply,
  parseHomography,
  scaling,
  warpPoints,
} from "../../lib/geometry/homography";

const H = [0.9, 0.1, 12.5, -0.05, 1.1, -7.25, 1e-4, -2e-4, 1];

test("H times its inverse is the identity, and points round-trip", () => {
  const I = multiply(H, invert(H));
  I.forEach((v, i) => assert.ok(Math.abs(v - IDENTITY[i]) < 1e-12, `entry ${i}: ${v}`));
  const pts = [0, 0, 100.5, 20.25, 639, 479, -10, 300];
  const back = warpPoints(invert(H), warpPoints(H, pts));
  pts.forEach((v, i) => assert.ok(Math.abs(back[i] - v) < 1e-9, `coordinate ${i}: ${back[i]} vs ${v}`));
});

test("applyToPoint divides by the third coordinate", () => {
  // (x, y) = (10, 20): w = 1e-4*10 - 2e-4*20 + 1 = 0.997
  const w = 0.997;
  const [x, y] = applyToPoint(H, 10, 20);
  assert.ok(Math.abs(x - (0.9 * 10 + 0.1 * 20 + 12.5) / w) < 1e-12);
  assert.ok(Math.abs(y - (-0.05 * 10 + 1.1 * 20 - 7.25) / w) < 1e-12);
});

test("fromCorrespondences reproduces the homography that generated the points", () => {
  const src = [0, 0, 0, 99, 149, 99, 149, 0];
  const dst = Array.from(warpPoints(H, src));
  const est = fromCorrespondences(src, dst);
  est.forEach((v, i) => assert.ok(Math.abs(v - H[i]) < 1e-9, `entry ${i}: ${v} vs ${H[i]}`));
  assert.throws(() => fromCorrespondences([0, 0, 1, 1, 2, 2, 3, 3], dst), /collinear/);
});

test("text format round-trips exactly, and the parser rejects bad matrices", () => {
  assert.deepEqual(parseHomography(formatHomography(H)), H);
  assert.deepEqual(parseHomography("1 0 0\n0 1 0\n0 0 1\n"), IDENTITY);
  assert.throws(() => parseHomography("1 0 0\n0 1 0\n", "H_1_2"), /H_1_2: expected a 3x3 matrix/);
  assert.throws(() => parseHomography("1 0 0 0\n0 1 0\n0 0", "H_1_3"), /H_1_3: expected a 3x3 matrix/);
  assert.throws(() => parseHomography("1 0 0\n0 x 0\n0 0 1", "H_1_4"), /H_1_4: "x" is not a finite number/);
  assert.throws(() => parseHomography("1 2 3\n2 4 6\n0 0 1", "H_1_5"), /H_1_5: homography is singular/);
});

test("singularity is judged scale-free", () => {
  assert.equal(isSingular(H.map((v) => v * 1e-6)), false);
  assert.equal(isSingular([1, 2, 3, 2, 4, 6, 0, 0, 1]), true);
  assert.equal(determinant([2, 0, 0, 0, 3, 0, 0, 0, 1]), 6);
});

test("scaling keeps pixel centres aligned: x' = (x + 0.5) s - 0.5", () => {
  const S = scaling(2, 0.5);
  assert.deepEqual(applyToPoint(S, 0, 0), [0.5, -0.25]);
  assert.deepEqual(applyToPoint(S, 3, 7), [6.5, 3.25]);
});
