// Keypoints from a dense detection map: threshold, SuperPoint's greedy NMS
// (nms_fast: strongest first, each kept point suppresses a (2r+1)^2 window),
// border margin, then the top-k by score.

export interface DetectionOptions {
  /** keep pixels with score >= threshold */
  threshold: number;
  /** NMS radius in pixels (0 disables suppression) */
  nmsRadius: number;
  /** drop points closer than this to the image border (pixels) */
  border: number;
  /** keep at most this many points (undefined: all) */
  topK?: number;
}

export const DETECTION_DEFAULTS: DetectionOptions = { threshold: 0.9, nmsRadius: 4, border: 4 };

export interface Detections {
  /** [N,2] (x, y) integer pixel positions, sorted by decreasing score */
  keypoints: Float32Array;
  /** [N] */
  scores: Float32Array;
}

/** `map` is [H,W] row-major. */
export function detectKeypoints(map: ArrayLike<number>, width: number, height: number, opts: Partial<DetectionOptions> = {}): Detections {
  const o = { ...DETECTION_DEFAULTS, ...opts };
  const cand: number[] = [];
  for (let i = 0; i < width * height; i++) if (map[i] >= o.threshold) cand.push(i);
  // Strongest first; ties broken by raster order so results are deterministic.
  cand.sort((a, b) => map[b] - map[a] || a - b);
  const r = Math.max(0, Math.floor(o.nmsRadius));
  const suppressed = new Uint8Array(width * height);
  const kept: number[] = [];
  for (const i of cand) {
    if (suppressed[i]) continue;
    const x = i % width, y = (i - x) / width;
    for (let yy = Math.max(0, y - r); yy <= Math.min(height - 1, y + r); yy++) {
      for (let xx = Math.max(0, x - r); xx <= Math.min(width - 1, x + r); xx++) suppressed[yy * width + xx] = 1;
    }
    if (x < o.border || y < o.border || x >= width - o.border || y >= height - o.border) continue;
    kept.push(i);
  }
  const n = o.topK === undefined ? kept.length : Math.min(kept.length, o.topK);
  const keypoints = new Float32Array(2 * n);
  const scores = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    const i = kept[j];
    keypoints[2 * j] = i % width;
    keypoints[2 * j + 1] = Math.floor(i / width);
    scores[j] = map[i];
  }
  return { keypoints, scores };
}
