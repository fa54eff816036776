import { test } from "node:test";
import assert from "node:assert/strict";
import { applyPhotometric, motionBlurKernel, photometricAugment } from "../../lib/geometry/photometric";
import { Rng } from "../../lib/geometry/random";

const img = { width: 4, height: 2, data: Uint8Array.from([0, 50, 100, 127, 128, 200, 250, 255, 10, 20, 30, 40, 60, 70, 80, 90, 110, 120, 130, 140, 150, 160, 170, 180]) };
const none = { add: 0, contrast: 1, sigma: 0, impulse: 0, blur: null };

test("Add shifts and clips; LinearContrast scales about 127.5 and clips", () => {
  const added = applyPhotometric(img, { ...none, add: 10 }, new Rng(0));
  assert.deepEqual(Array.from(added.data), Array.from(img.data, (v) => Math.min(255, v + 10)));
  const contrasted = applyPhotometric(img, { ...none, contrast: 2 }, new Rng(0));
  assert.deepEqual(Array.from(contrasted.data), Array.from(img.data, (v) => Math.max(0, Math.min(255, Math.round(127.5 + 2 * (v - 127.5))))));
});

test("a centred motion-blur kernel at angle 0 is a vertical line of thirds", () => {
  const k = motionBlurKernel(3, 0, 0.5);
  const third = 1 / 3;
  const expected = [0, third, 0, 0, third, 0, 0, third, 0];
  k.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-6, `entry ${i}: ${v}`));
  for (const angle of [17, 90, 200]) {
    const s = motionBlurKernel(3, angle, 0.2).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(s - 1) < 1e-6, `angle ${angle}: sum ${s}`);
  }
});

test("augmentation is reproducible from the seed", () => {
  assert.deepEqual(photometricAugment(img, new Rng(7)).data, photometricAugment(img, new Rng(7)).data);
  assert.notDeepEqual(photometricAugment(img, new Rng(7)).data, photometricAugment(img, new Rng(8)).data);
});
