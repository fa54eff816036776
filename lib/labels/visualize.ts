// Pictures of keypoint labels, as RGB buffers for lib/plots/display.ts's
// showImage: the points drawn as small crosses (or dots) over a dimmed copy of
// the image, and the dense aggregated response as a heat map.
import type { RgbImage } from "../data/image";
import type { KeypointLabels } from "./homographic-adaptation";

export interface DrawLabelsOptions {
  /** "cross" (default) or "dot" (a filled square) */
  style?: "cross" | "dot";
  /** half-size of the mark in pixels (default 2) */
  radius?: number;
  /** mark colour (default green); with `colourByScore` the strongest points get it, the weakest yellow-red */
  colour?: [number, number, number];
  colourByScore?: boolean;
  /** image brightness under the marks, 0..1 (default 0.6) so the marks stand out */
  dim?: number;
}

function lerp(a: [number, number, number], b: [number, number, number], t: number): [number, number, number] {
  return [0, 1, 2].map((k) => Math.round(a[k] + (b[k] - a[k]) * t)) as [number, number, number];
}

/** The image with each label drawn as a small cross or dot (weakest first, so the strongest are on top). */
export function drawLabels(img: RgbImage, labels: KeypointLabels, opts: DrawLabelsOptions = {}): RgbImage {
  if (img.width !== labels.width || img.height !== labels.height) {
    throw new Error(`drawLabels: image is ${img.width}x${img.height}, labels ${labels.width}x${labels.height}`);
  }
  const { width: W, height: H } = img;
  const r = opts.radius ?? 2;
  const dim = opts.dim ?? 0.6;
  const base = opts.colour ?? [0, 255, 0];
  const data = new Uint8Array(img.data.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.round(img.data[i] * dim);
  const n = labels.scores.length;
  const hi = n > 0 ? labels.scores[0] : 1, lo = n > 0 ? labels.scores[n - 1] : 0;
  const put = (x: number, y: number, c: [number, number, number]) => {
    if (x < 0 || y < 0 || x >= W || y >= H) return;
    const o = 3 * (y * W + x);
    data[o] = c[0];
    data[o + 1] = c[1];
    data[o + 2] = c[2];
  };
  for (let j = n - 1; j >= 0; j--) {
    const x = Math.round(labels.points[2 * j]), y = Math.round(labels.points[2 * j + 1]);
    const t = hi > lo ? (labels.scores[j] - lo) / (hi - lo) : 1;
    const c = opts.colourByScore ? (t < 0.5 ? lerp([255, 40, 0], [255, 230, 0], 2 * t) : lerp([255, 230, 0], base, 2 * t - 1)) : base;
    if (opts.style === "dot") {
      for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) put(x + dx, y + dy, c);
    } else {
      for (let d = -r; d <= r; d++) {
        put(x + d, y, c);
        put(x, y + d, c);
      }
    }
  }
  return { width: W, height: H, data };
}

/** A dense [H,W] map as a heat map (black - red - yellow - white), scaled so `max` (default: the map's max) is white. */
export function heatmapImage(map: Float32Array, width: number, height: number, max?: number): RgbImage {
  let m = max ?? 0;
  if (max === undefined) for (let i = 0; i < map.length; i++) if (map[i] > m) m = map[i];
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    const t = m > 0 ? Math.min(1, Math.max(0, map[i] / m)) : 0;
    data[3 * i] = Math.round(255 * Math.min(1, 3 * t));
    data[3 * i + 1] = Math.round(255 * Math.min(1, Math.max(0, 3 * t - 1)));
    data[3 * i + 2] = Math.round(255 * Math.max(0, 3 * t - 2));
  }
  return { width, height, data };
}
