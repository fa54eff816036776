// 3x3 homographies as row-major arrays of 9 numbers. A homography H maps
// homogeneous pixel coordinates (x, y, 1) of one image into another, x right and
// y down, pixel centres at integers: the convention of HPatches' H_1_k files.

export type Homography = number[]; // [9] row-major

export const IDENTITY: Homography = [1, 0, 0, 0, 1, 0, 0, 0, 1];

export function multiply(a: Homography, b: Homography): Homography {
  const out = new Array<number>(9);
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) {
      out[3 * r + c] = a[3 * r] * b[c] + a[3 * r + 1] * b[3 + c] + a[3 * r + 2] * b[6 + c];
    }
  }
  return out;
}

export function determinant(h: Homography): number {
  return (
    h[0] * (h[4] * h[8] - h[5] * h[7]) - h[1] * (h[3] * h[8] - h[5] * h[6]) + h[2] * (h[3] * h[7] - h[4] * h[6])
  );
}

/** det of H scaled to unit Frobenius norm: scale-free, so it can be compared against a fixed tolerance. */
function normalizedDeterminant(h: Homography): number {
  const norm = Math.sqrt(h.reduce((s, v) => s + v * v, 0));
  if (!(norm > 0) || !Number.isFinite(norm)) return 0;
  return determinant(h.map((v) => v / norm));
}

export function isSingular(h: Homography, tol = 1e-10): boolean {
  return !(Math.abs(normalizedDeterminant(h)) > tol);
}

export function invert(h: Homography): Homography {
  const det = determinant(h);
  if (isSingular(h)) throw new Error(`homography is singular (det ${det})`);
  const inv = [
    h[4] * h[8] - h[5] * h[7],
    h[2] * h[7] - h[1] * h[8],
    h[1] * h[5] - h[2] * h[4],
    h[5] * h[6] - h[3] * h[8],
    h[0] * h[8] - h[2] * h[6],
    h[2] * h[3] - h[0] * h[5],
    h[3] * h[7] - h[4] * h[6],
    h[1] * h[6] - h[0] * h[7],
    h[0] * h[4] - h[1] * h[3],
  ];
  return inv.map((v) => v / det);
}

export function applyToPoint(h: Homography, x: number, y: number): [number, number] {
  const w = h[6] * x + h[7] * y + h[8];
  return [(h[0] * x + h[1] * y + h[2]) / w, (h[3] * x + h[4] * y + h[5]) / w];
}

/** Map points [N,2] (x,y). Points sent to infinity come back as non-finite numbers. */
export function warpPoints(h: Homography, points: Float32Array | Float64Array | number[]): Float64Array {
  const n = points.length >> 1;
  const out = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    const x = points[2 * i], y = points[2 * i + 1];
    const w = h[6] * x + h[7] * y + h[8];
    out[2 * i] = (h[0] * x + h[1] * y + h[2]) / w;
    out[2 * i + 1] = (h[3] * x + h[4] * y + h[5]) / w;
  }
  return out;
}

/** Which of the points [N,2] lie inside a width x height image (pixel centres 0..W-1, 0..H-1). */
export function insideImage(points: ArrayLike<number>, width: number, height: number, margin = 0): Uint8Array {
  const n = points.length >> 1;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const x = points[2 * i], y = points[2 * i + 1];
    out[i] = x >= margin && y >= margin && x <= width - 1 - margin && y <= height - 1 - margin ? 1 : 0;
  }
  return out;
}

/**
 * The homography taking the four points `src` [4,2] to `dst` [4,2] (H[2][2] = 1),
 * by solving the 8x8 direct linear system with partial-pivot Gaussian elimination.
 */
export function fromCorrespondences(src: ArrayLike<number>, dst: ArrayLike<number>): Homography {
  const a: number[][] = [];
  for (let i = 0; i < 4; i++) {
    const x = src[2 * i], y = src[2 * i + 1], u = dst[2 * i], v = dst[2 * i + 1];
    a.push([x, y, 1, 0, 0, 0, -x * u, -y * u, u]);
    a.push([0, 0, 0, x, y, 1, -x * v, -y * v, v]);
  }
  for (let c = 0; c < 8; c++) {
    let p = c;
    for (let r = c + 1; r < 8; r++) if (Math.abs(a[r][c]) > Math.abs(a[p][c])) p = r;
    if (Math.abs(a[p][c]) < 1e-12) throw new Error("degenerate correspondences: three of the four points are collinear");
    [a[c], a[p]] = [a[p], a[c]];
    for (let r = 0; r < 8; r++) {
      if (r === c) continue;
      const f = a[r][c] / a[c][c];
      for (let k = c; k < 9; k++) a[r][k] -= f * a[c][k];
    }
  }
  const h = a.map((row, i) => row[8] / row[i]);
  return [...h, 1];
}

/** Homography for resizing an image by (sx, sy) with pixel centres kept aligned: x' = (x + 0.5) sx - 0.5. */
export function scaling(sx: number, sy: number): Homography {
  return [sx, 0, 0.5 * sx - 0.5, 0, sy, 0.5 * sy - 0.5, 0, 0, 1];
}

/** Parse a whitespace-separated 3x3 matrix (the H_1_k text format). `source` names the file in errors. */
export function parseHomography(text: string, source = "<text>"): Homography {
  const tokens = text.trim().split(/\s+/).filter((t) => t.length > 0);
  const rows = text
    .trim()
    .split(/\r?\n/)
    .filter((l) => l.trim().length > 0);
  if (tokens.length !== 9 || rows.length !== 3 || rows.some((r) => r.trim().split(/\s+/).length !== 3)) {
    throw new Error(`${source}: expected a 3x3 matrix (3 lines of 3 numbers), got ${rows.length} lines / ${tokens.length} numbers`);
  }
  const h = tokens.map(Number);
  const bad = tokens.findIndex((t, i) => !Number.isFinite(h[i]));
  if (bad >= 0) throw new Error(`${source}: "${tokens[bad]}" is not a finite number`);
  if (isSingular(h)) throw new Error(`${source}: homography is singular (det ${determinant(h)})`);
  return h;
}

/** Format as the H_1_k text format (3 lines, full precision). */
export function formatHomography(h: Homography): string {
  const f = (v: number) => (Object.is(v, -0) ? 0 : v).toPrecision(17).replace(/\.?0+(e|$)/, "$1");
  return [0, 1, 2].map((r) => [0, 1, 2].map((c) => f(h[3 * r + c])).join(" ")).join("\n") + "\n";
}
