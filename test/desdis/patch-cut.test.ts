import { test } from "node:test";
import assert from "node:assert/strict";
import { applyToPoint, Homography, invert } from "../../lib/geometry/homography";
import { cutPatch, GreyFloat, localScale, patchToView, supportInside } from "../../lib/desdis/patch-cut";

/** A synthetic image whose value is a linear function of the position: bilinear sampling reads it exactly. */
function ramp(width: number, height: number, f: (x: number, y: number) => number): GreyFloat {
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = f(x, y);
  return { width, height, data };
}

test("a 65-px support at (100, 80) maps patch pixel centres onto the support's 32 equal cells", () => {
  const frame = { x: 100, y: 80, support: 65, angle: 0 };
  // The patch centre (16, 16) is the keypoint; the patch corners are the support's corners.
  assert.deepEqual(patchToView(frame, 16, 16), [100, 80]);
  assert.deepEqual(patchToView(frame, 0, 0), [100 - 32.5, 80 - 32.5]);
  assert.deepEqual(patchToView(frame, 32, 32), [100 + 32.5, 80 + 32.5]);
  // Patch pixel (0, 0) averages its footprint: on a linear ramp its value is the value at its
  // centre, (100 - 32.5 + 65/64, 80 - 32.5 + 65/64).
  const img = ramp(200, 160, (x, y) => 0.5 * x + 0.25 * y);
  const out = new Float32Array(32 * 32);
  cutPatch(img, frame, out);
  const c = 65 / 64;
  assert.ok(Math.abs(out[0] - (0.5 * (67.5 + c) + 0.25 * (47.5 + c))) < 1e-3, `${out[0]}`);
  // Along a row the value grows by 0.5 * 65/32 per patch pixel, along a column by 0.25 * 65/32.
  assert.ok(Math.abs(out[1] - out[0] - (0.5 * 65) / 32) < 1e-3);
  assert.ok(Math.abs(out[32] - out[0] - (0.25 * 65) / 32) < 1e-3);
});

test("a bright dot at the keypoint lands in the four centre pixels of the patch, also rotated", () => {
  const img = ramp(64, 64, () => 0);
  // A 2x2 dot centred on (30.5, 20.5).
  for (const [x, y] of [[30, 20], [31, 20], [30, 21], [31, 21]]) img.data[y * 64 + x] = 255;
  for (const angle of [0, Math.PI / 2, 0.3]) {
    const out = new Float32Array(32 * 32);
    cutPatch(img, { x: 30.5, y: 20.5, support: 16, angle }, out);
    let best = 0;
    for (let i = 1; i < out.length; i++) if (out[i] > out[best]) best = i;
    const [u, v] = [best % 32, Math.floor(best / 32)];
    assert.ok(u >= 15 && u <= 16 && v >= 15 && v <= 16, `angle ${angle}: maximum at (${u}, ${v})`);
    // The far corner is dark.
    assert.equal(out[0], 0);
  }
});

test("a patch cut through a homography equals the patch of the warped image's point", () => {
  // Rotation by 90 degrees about the origin, then a shift: view point q shows source point H^-1 q.
  const toView: Homography = [0, -1, 150, 1, 0, 10, 0, 0, 1];
  const img = ramp(200, 200, (x, y) => x + 0.5 * y);
  const p = [90, 70];
  const q = applyToPoint(toView, p[0], p[1]);
  const viaView = new Float32Array(32 * 32);
  cutPatch(img, { x: q[0], y: q[1], support: 20, angle: 0 }, viaView, 0, invert(toView));
  // In the view the patch's +u axis is the source's -y axis (rotation by -90 degrees back), so it
  // equals the source patch at p rotated by -90 degrees.
  const direct = new Float32Array(32 * 32);
  cutPatch(img, { x: p[0], y: p[1], support: 20, angle: -Math.PI / 2 }, direct);
  for (let i = 0; i < direct.length; i++) assert.ok(Math.abs(direct[i] - viaView[i]) < 1e-3, `pixel ${i}: ${direct[i]} vs ${viaView[i]}`);
  assert.ok(Math.abs(localScale(toView, 5, 5) - 1) < 1e-9);
  assert.ok(Math.abs(localScale([2, 0, 0, 0, 3, 0, 0, 0, 1], 5, 5) - Math.sqrt(6)) < 1e-9);
});

test("supportInside checks the rotated corners", () => {
  assert.equal(supportInside(100, 100, { x: 50, y: 50, support: 98, angle: 0 }), true);
  // Rotated by 45 degrees the corners reach 49 * sqrt(2) = 69 px from the centre.
  assert.equal(supportInside(100, 100, { x: 50, y: 50, support: 98, angle: Math.PI / 4 }), false);
  assert.equal(supportInside(100, 100, { x: 10, y: 50, support: 30, angle: 0 }), false);
});
