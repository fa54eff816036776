// Felzenszwalb-Huttenlocher graph-based segmentation ("Efficient Graph-Based
// Image Segmentation", IJCV 2004), as in the authors' reference and in
// scikit-image: Gaussian smoothing, an 8-connected pixel graph weighted by the
// Euclidean RGB distance, Kruskal-style merging with the adaptive threshold
// Int(C) + k/|C|, then merging of components smaller than minSize.
// No maintained npm package implements it, and OpenCV.js is built without ximgproc.
import type { RgbImage } from "../data/image";

export interface FelzenszwalbOptions {
  /** Scale: larger k, larger segments. */
  k: number;
  /** Gaussian smoothing sigma in pixels (0 = none). */
  sigma: number;
  /** Components smaller than this many pixels are merged into a neighbour. */
  minSize: number;
}

export const FELZENSZWALB_DEFAULTS: FelzenszwalbOptions = { k: 300, sigma: 0.8, minSize: 20 };

/** Separable Gaussian blur of an [H,W,3] image into float planes [3][H*W]. */
function smooth(img: RgbImage, sigma: number): Float32Array[] {
  const { width: W, height: H, data } = img;
  const planes = [0, 1, 2].map((c) => {
    const p = new Float32Array(W * H);
    for (let i = 0; i < W * H; i++) p[i] = data[3 * i + c];
    return p;
  });
  if (sigma <= 0) return planes;
  const r = Math.ceil(4 * sigma);
  const kernel = new Float32Array(2 * r + 1);
  let sum = 0;
  for (let i = -r; i <= r; i++) sum += kernel[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < kernel.length; i++) kernel[i] /= sum;
  const clamp = (v: number, n: number) => (v < 0 ? 0 : v >= n ? n - 1 : v);
  return planes.map((src) => {
    const tmp = new Float32Array(W * H);
    const out = new Float32Array(W * H);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        let s = 0;
        for (let i = -r; i <= r; i++) s += kernel[i + r] * src[y * W + clamp(x + i, W)];
        tmp[y * W + x] = s;
      }
    }
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        let s = 0;
        for (let i = -r; i <= r; i++) s += kernel[i + r] * tmp[clamp(y + i, H) * W + x];
        out[y * W + x] = s;
      }
    }
    return out;
  });
}

/** Label map [H,W] with labels 1..n, numbered in raster order of first appearance. */
export function felzenszwalb(img: RgbImage, opts: Partial<FelzenszwalbOptions> = {}): Int32Array {
  const o = { ...FELZENSZWALB_DEFAULTS, ...opts };
  const { width: W, height: H } = img;
  const n = W * H;
  const [r, g, b] = smooth(img, o.sigma);

  // Edges to the right, down, down-right and up-right neighbours (8-connectivity).
  const maxEdges = 4 * n;
  const ea = new Int32Array(maxEdges);
  const eb = new Int32Array(maxEdges);
  const ew = new Float32Array(maxEdges);
  let m = 0;
  const add = (p: number, q: number) => {
    ea[m] = p;
    eb[m] = q;
    ew[m++] = Math.sqrt((r[p] - r[q]) ** 2 + (g[p] - g[q]) ** 2 + (b[p] - b[q]) ** 2);
  };
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const p = y * W + x;
      if (x + 1 < W) add(p, p + 1);
      if (y + 1 < H) add(p, p + W);
      if (x + 1 < W && y + 1 < H) add(p, p + W + 1);
      if (x + 1 < W && y > 0) add(p, p - W + 1);
    }
  }
  // Sort by weight through one numeric typed-array sort of packed keys
  // (weight quantised to 1/256 above, edge index below); ties keep index order.
  const shift = 2 ** Math.ceil(Math.log2(m + 1));
  const keys = new Float64Array(m);
  for (let e = 0; e < m; e++) keys[e] = Math.round(ew[e] * 256) * shift + e;
  keys.sort();

  const parent = new Int32Array(n);
  const size = new Int32Array(n).fill(1);
  const threshold = new Float32Array(n).fill(o.k);
  for (let i = 0; i < n; i++) parent[i] = i;
  const find = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]];
      i = parent[i];
    }
    return i;
  };
  const join = (a: number, c: number): number => {
    if (size[a] < size[c]) [a, c] = [c, a];
    parent[c] = a;
    size[a] += size[c];
    return a;
  };
  for (let s = 0; s < m; s++) {
    const e = keys[s] % shift;
    const a = find(ea[e]);
    const c = find(eb[e]);
    if (a === c) continue;
    const w = ew[e];
    if (w <= threshold[a] && w <= threshold[c]) {
      const root = join(a, c);
      threshold[root] = w + o.k / size[root];
    }
  }
  for (let s = 0; s < m; s++) {
    const e = keys[s] % shift;
    const a = find(ea[e]);
    const c = find(eb[e]);
    if (a !== c && (size[a] < o.minSize || size[c] < o.minSize)) join(a, c);
  }
  const labels = new Int32Array(n);
  const labelOf = new Int32Array(n);
  let next = 0;
  for (let p = 0; p < n; p++) {
    const root = find(p);
    if (labelOf[root] === 0) labelOf[root] = ++next;
    labels[p] = labelOf[root];
  }
  return labels;
}
