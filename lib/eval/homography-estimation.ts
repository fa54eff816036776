// Homography estimation from matches (OpenCV RANSAC) and the corner-error
// criterion: map the four corners of image 1 with the estimate and with the
// ground truth, average the distances. A pair with fewer than 4 matches, or
// where RANSAC finds nothing, counts as a failure (incorrect at every threshold).
import { applyToPoint, Homography } from "../geometry/homography";
import { loadOpenCv } from "./opencv";

export interface HomographyEstimateOptions {
  /** RANSAC inlier threshold in pixels */
  ransacThreshold: number;
}

export const HOMOGRAPHY_ESTIMATE_DEFAULTS: HomographyEstimateOptions = { ransacThreshold: 3 };

/** Estimate H (A -> B) from matched points [M,2] each; null when it cannot be estimated. */
export async function estimateHomography(
  ptsA: ArrayLike<number>,
  ptsB: ArrayLike<number>,
  opts: Partial<HomographyEstimateOptions> = {},
): Promise<Homography | null> {
  const o = { ...HOMOGRAPHY_ESTIMATE_DEFAULTS, ...opts };
  const m = ptsA.length >> 1;
  if (m < 4) return null;
  const cv = await loadOpenCv();
  const src = cv.matFromArray(m, 1, cv.CV_32FC2, Array.from(ptsA));
  const dst = cv.matFromArray(m, 1, cv.CV_32FC2, Array.from(ptsB));
  const mask = new cv.Mat();
  let H: any;
  try {
    H = cv.findHomography(src, dst, cv.RANSAC, o.ransacThreshold, mask);
    if (H.empty() || H.rows !== 3 || H.cols !== 3) return null;
    const h = Array.from(H.data64F as Float64Array);
    return h.every(Number.isFinite) ? h : null;
  } finally {
    src.delete();
    dst.delete();
    mask.delete();
    H?.delete();
  }
}

/** Mean distance between the image-1 corners mapped by `estimate` and by `truth`. */
export function cornerError(estimate: Homography, truth: Homography, width: number, height: number): number {
  const corners: [number, number][] = [
    [0, 0],
    [width - 1, 0],
    [0, height - 1],
    [width - 1, height - 1],
  ];
  let sum = 0;
  for (const [x, y] of corners) {
    const [ex, ey] = applyToPoint(estimate, x, y);
    const [tx, ty] = applyToPoint(truth, x, y);
    sum += Math.hypot(ex - tx, ey - ty);
  }
  const e = sum / 4;
  return Number.isFinite(e) ? e : Infinity;
}
