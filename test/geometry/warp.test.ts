import { test } from "node:test";
import assert from "node:assert/strict";
import { invert } from "../../lib/geometry/homography";
import { validityMask, warpImage, warpRaster } from "../../lib/geometry/warp";

function ramp(width: number, height: number) {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      data[(y * width + x) * 3] = 10 * x;
      data[(y * width + x) * 3 + 1] = 10 * y;
      data[(y * width + x) * 3 + 2] = 7;
    }
  }
  return { width, height, data };
}

test("an integer translation shifts pixels and masks the uncovered border", () => {
  const img = ramp(8, 6);
  const T = [1, 0, 2, 0, 1, 3, 0, 0, 1]; // source (x, y) -> (x + 2, y + 3)
  const { image, mask } = warpImage(img, T);
  for (let y = 0; y < 6; y++) {
    for (let x = 0; x < 8; x++) {
      const valid = x >= 2 && y >= 3;
      assert.equal(mask[y * 8 + x], valid ? 1 : 0, `mask at (${x}, ${y})`);
      const px = Array.from(image.data.subarray((y * 8 + x) * 3, (y * 8 + x) * 3 + 3));
      assert.deepEqual(px, valid ? [10 * (x - 2), 10 * (y - 3), 7] : [0, 0, 0], `pixel (${x}, ${y})`);
    }
  }
  assert.deepEqual(validityMask(T, 8, 6), mask);
});

test("bilinear sampling is exact on a linear ramp at half-pixel offsets", () => {
  const src = { width: 5, height: 1, channels: 1, data: Float32Array.from([0, 10, 20, 30, 40]) };
  const { data, mask } = warpRaster(src, [1, 0, -0.5, 0, 1, 0, 0, 0, 1]); // output x samples source x + 0.5
  assert.deepEqual(Array.from(data.subarray(0, 4)), [5, 15, 25, 35]);
  assert.deepEqual(Array.from(mask), [1, 1, 1, 1, 0]);
});

test("warping by H then by H^-1 restores the valid region", () => {
  const img = ramp(20, 16);
  const H = [1.05, 0.02, -0.4, -0.03, 0.98, 0.6, 1e-4, 0, 1];
  const there = warpRaster({ ...img, channels: 3 }, H);
  const back = warpRaster({ width: 20, height: 16, channels: 3, data: there.data }, invert(H));
  const validThere = warpRaster({ width: 20, height: 16, channels: 1, data: Float32Array.from(there.mask) }, invert(H));
  let checked = 0;
  for (let i = 0; i < 20 * 16; i++) {
    // a ramp is linear, so bilinear resampling reproduces it wherever both warps had full support
    if (!back.mask[i] || validThere.data[i] < 1 - 1e-6) continue;
    for (let c = 0; c < 3; c++) assert.ok(Math.abs(back.data[3 * i + c] - img.data[3 * i + c]) < 1e-3, `pixel ${i}`);
    checked++;
  }
  assert.ok(checked > 150, `only ${checked} pixels checked`);
});
