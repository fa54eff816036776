// Bilinear sampling of a dense map at keypoints, with the coordinate convention
// of SAMFeat's extractor: keypoints normalised by (W-1, H-1) of the image, then
// torch grid_sample with align_corners=False on the (w, h) map, zero padding.
// In map pixels that is u = x / (W-1) * w - 0.5 (and likewise v). Taps outside
// the map read 0 ("zeros", grid_sample's default) or the nearest edge value
// ("border", which SAMFeat uses for the attention map).

export interface DenseMap {
  width: number;
  height: number;
  channels: number;
  /** [h,w,C] row-major */
  data: Float32Array;
}

export type Padding = "zeros" | "border";

/** Sample `map` at keypoints [N,2] (x, y) given in pixels of an imageWidth x imageHeight image: [N,C]. */
export function sampleBilinear(
  map: DenseMap,
  keypoints: ArrayLike<number>,
  imageWidth: number,
  imageHeight: number,
  padding: Padding = "zeros",
): Float32Array {
  const { width: w, height: h, channels: C, data } = map;
  const n = keypoints.length >> 1;
  const out = new Float32Array(n * C);
  const sx = w / Math.max(1, imageWidth - 1), sy = h / Math.max(1, imageHeight - 1);
  for (let i = 0; i < n; i++) {
    let u = keypoints[2 * i] * sx - 0.5, v = keypoints[2 * i + 1] * sy - 0.5;
    if (padding === "border") {
      u = Math.min(Math.max(u, 0), w - 1);
      v = Math.min(Math.max(v, 0), h - 1);
    }
    const x0 = Math.floor(u), y0 = Math.floor(v), fx = u - x0, fy = v - y0;
    const taps: [number, number, number][] = [
      [x0, y0, (1 - fx) * (1 - fy)],
      [x0 + 1, y0, fx * (1 - fy)],
      [x0, y0 + 1, (1 - fx) * fy],
      [x0 + 1, y0 + 1, fx * fy],
    ];
    for (const [x, y, wt] of taps) {
      if (x < 0 || y < 0 || x >= w || y >= h || wt === 0) continue;
      const base = (y * w + x) * C;
      for (let c = 0; c < C; c++) out[i * C + c] += wt * data[base + c];
    }
  }
  return out;
}
