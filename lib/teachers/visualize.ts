// Pictures of any teacher's output, as RGB buffers for lib/plots/display.ts's
// showImage: the groups over the image, the edge map, and the embedding's first
// three principal components as colour (cells that look alike in the
// embedding's cosine geometry get alike colours).
import type { RgbImage } from "../data/image";
import { labelBoundaries, TeacherOutput } from "./teacher";

/** A well-spread colour per label (golden-ratio hue steps); label 0 is black. */
export function labelColour(label: number): [number, number, number] {
  if (label === 0) return [0, 0, 0];
  const h = (label * 0.618033988749895) % 1;
  const s = 0.65 + 0.35 * ((label * 0.381966) % 1);
  const v = 0.95;
  const f = (n: number) => {
    const k = (n + h * 6) % 6;
    return Math.round(255 * (v - v * s * Math.max(0, Math.min(k, 4 - k, 1))));
  };
  return [f(5), f(3), f(1)];
}

/** The image with each group tinted in its colour (`alpha`), uncovered pixels dimmed, group boundaries in white. */
export function maskOverlay(img: RgbImage, out: TeacherOutput, opts: { alpha?: number } = {}): RgbImage {
  const alpha = opts.alpha ?? 0.5;
  if (img.width !== out.width || img.height !== out.height) {
    throw new Error(`maskOverlay: image is ${img.width}x${img.height}, teacher output ${out.width}x${out.height}`);
  }
  const boundary = labelBoundaries(out.groups, out.height, out.width);
  const data = new Uint8Array(img.data.length);
  for (let p = 0; p < out.groups.length; p++) {
    const l = out.groups[p];
    const c = labelColour(l);
    for (let k = 0; k < 3; k++) {
      const v = img.data[3 * p + k];
      data[3 * p + k] = boundary[p] ? 255 : l === 0 ? Math.round(0.4 * v) : Math.round((1 - alpha) * v + alpha * c[k]);
    }
  }
  return { width: img.width, height: img.height, data };
}

/** Edge strength as grey: 0 black, 1 white. */
export function edgeImage(out: TeacherOutput): RgbImage {
  const data = new Uint8Array(out.edges.length * 3);
  for (let p = 0; p < out.edges.length; p++) data[3 * p] = data[3 * p + 1] = data[3 * p + 2] = Math.round(255 * Math.min(1, Math.max(0, out.edges[p])));
  return { width: out.width, height: out.height, data };
}

/**
 * Top-k principal directions of the rows of X [n,C] (centred), by block power
 * iteration with Gram-Schmidt; deterministic. Returns the projections [n,k].
 */
export function principalProjections(x: Float32Array, n: number, c: number, k = 3, iterations = 60): Float32Array {
  const mean = new Float64Array(c);
  for (let i = 0; i < n; i++) for (let j = 0; j < c; j++) mean[j] += x[i * c + j] / n;
  const centred = new Float64Array(n * c);
  for (let i = 0; i < n; i++) for (let j = 0; j < c; j++) centred[i * c + j] = x[i * c + j] - mean[j];
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
  const v = Array.from({ length: k }, () => Float64Array.from({ length: c }, rand));
  const xv = new Float64Array(n);
  const orthonormalise = () => {
    for (let a = 0; a < k; a++) {
      for (let b = 0; b < a; b++) {
        let d = 0;
        for (let j = 0; j < c; j++) d += v[a][j] * v[b][j];
        for (let j = 0; j < c; j++) v[a][j] -= d * v[b][j];
      }
      let norm = 0;
      for (let j = 0; j < c; j++) norm += v[a][j] ** 2;
      norm = Math.sqrt(norm) || 1;
      for (let j = 0; j < c; j++) v[a][j] /= norm;
    }
  };
  orthonormalise();
  for (let it = 0; it < iterations; it++) {
    for (let a = 0; a < k; a++) {
      // v <- X^T (X v)
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < c; j++) s += centred[i * c + j] * v[a][j];
        xv[i] = s;
      }
      const next = new Float64Array(c);
      for (let i = 0; i < n; i++) for (let j = 0; j < c; j++) next[j] += centred[i * c + j] * xv[i];
      v[a] = next;
    }
    orthonormalise();
  }
  const proj = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < k; a++) {
      let s = 0;
      for (let j = 0; j < c; j++) s += centred[i * c + j] * v[a][j];
      proj[i * k + a] = s;
    }
  }
  return proj;
}

/**
 * The embedding's first three principal components as R, G, B (each stretched
 * between its 1st and 99th percentile), at the embedding grid, or scaled up
 * (nearest) to `size` (e.g. the image size). Cells are L2-normalised first,
 * because only cosines are the teacher's signal.
 */
export function embeddingPcaImage(out: TeacherOutput, size?: { width: number; height: number }): RgbImage {
  const [h, w, c] = out.embeddingShape;
  const n = h * w;
  const unit = new Float32Array(out.embedding.length);
  for (let i = 0; i < n; i++) {
    let norm = 0;
    for (let j = 0; j < c; j++) norm += out.embedding[i * c + j] ** 2;
    norm = Math.sqrt(norm) || 1;
    for (let j = 0; j < c; j++) unit[i * c + j] = out.embedding[i * c + j] / norm;
  }
  const k = Math.min(3, c);
  const proj = principalProjections(unit, n, c, k);
  const grid = new Uint8Array(n * 3);
  for (let a = 0; a < k; a++) {
    const values = Float32Array.from({ length: n }, (_, i) => proj[i * k + a]).sort();
    const lo = values[Math.floor(0.01 * (n - 1))];
    const hi = values[Math.ceil(0.99 * (n - 1))];
    for (let i = 0; i < n; i++) grid[3 * i + a] = Math.round(255 * Math.min(1, Math.max(0, (proj[i * k + a] - lo) / (hi - lo || 1))));
  }
  const W = size?.width ?? w;
  const H = size?.height ?? h;
  const data = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    const gy = Math.min(h - 1, Math.floor((y * h) / H));
    for (let x = 0; x < W; x++) {
      const gx = Math.min(w - 1, Math.floor((x * w) / W));
      for (let a = 0; a < 3; a++) data[3 * (y * W + x) + a] = grid[3 * (gy * w + gx) + a];
    }
  }
  return { width: W, height: H, data };
}

/** Images of equal height placed left to right with a white gap. */
function sideBySide(images: RgbImage[], gap = 8): RgbImage {
  const height = Math.max(...images.map((i) => i.height));
  const width = images.reduce((s, i) => s + i.width, 0) + gap * (images.length - 1);
  const data = new Uint8Array(width * height * 3).fill(255);
  let x0 = 0;
  for (const img of images) {
    for (let y = 0; y < img.height; y++) data.set(img.data.subarray(3 * y * img.width, 3 * (y + 1) * img.width), 3 * (y * width + x0));
    x0 += img.width + gap;
  }
  return { width, height, data };
}

/** One strip per teacher output: groups overlay, edge map, embedding PCA (at image size). */
export function teacherPanel(img: RgbImage, out: TeacherOutput): RgbImage {
  return sideBySide([maskOverlay(img, out), edgeImage(out), embeddingPcaImage(out, { width: img.width, height: img.height })]);
}
