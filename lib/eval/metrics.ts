// The HPatches MMA statistics (D2-Net's notebook / SAMFeat's get_score.py):
// per pair, the fraction of mutual-NN matches whose reprojection error
// ||kp_b - proj(H_1_k kp_a)|| is within t pixels (0 for a pair without matches);
// MMA(t) is the mean over pairs, split by sequence type; #features is the mean
// over images, #matches the mean over pairs. Homography accuracy is a second
// table: the fraction of pairs whose RANSAC estimate has mean corner error <= t.
import { Homography, warpPoints } from "../geometry/homography";
import type { SequenceType } from "../data/hpatches";
import type { Matches } from "./matching";

export const MMA_THRESHOLDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
export const HOMOGRAPHY_THRESHOLDS = [1, 3, 5];

/** Reprojection error of each match [M]: keypoints are [N,2] (x, y); H maps A into B. */
export function matchErrors(kpA: ArrayLike<number>, kpB: ArrayLike<number>, matches: Matches, h: Homography): Float64Array {
  const m = matches.a.length;
  const pa = new Float64Array(2 * m);
  for (let i = 0; i < m; i++) {
    pa[2 * i] = kpA[2 * matches.a[i]];
    pa[2 * i + 1] = kpA[2 * matches.a[i] + 1];
  }
  const proj = warpPoints(h, pa);
  const err = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    const dx = kpB[2 * matches.b[i]] - proj[2 * i], dy = kpB[2 * matches.b[i] + 1] - proj[2 * i + 1];
    const e = Math.hypot(dx, dy);
    err[i] = Number.isFinite(e) ? e : Infinity;
  }
  return err;
}

/** Fraction of errors <= t for each threshold; all 0 when there are no matches. */
export function pairAccuracy(errors: ArrayLike<number>, thresholds = MMA_THRESHOLDS): number[] {
  if (errors.length === 0) return thresholds.map(() => 0);
  return thresholds.map((t) => {
    let c = 0;
    for (let i = 0; i < errors.length; i++) if (errors[i] <= t) c++;
    return c / errors.length;
  });
}

export interface PairRecord {
  sequence: string;
  type: SequenceType;
  /** index k of the second image (2..N) */
  k: number;
  matches: number;
  /** accuracy at MMA_THRESHOLDS */
  accuracy: number[];
  /** mean corner error of the RANSAC estimate; Infinity when estimation failed */
  cornerError: number;
}

export interface EvalSummary {
  method: string;
  dataset: string;
  sequences: number;
  images: number;
  pairs: number;
  pairs_i: number;
  pairs_v: number;
  thresholds: number[];
  /** MMA at 1..10 px; null where the split has no pairs */
  mma: (number | null)[];
  mma_i: (number | null)[];
  mma_v: (number | null)[];
  /** mean number of features per image */
  features: number;
  /** mean number of matches per pair, overall and per split */
  matches: number;
  matches_i: number | null;
  matches_v: number | null;
  zero_match_pairs: number;
  homography: {
    thresholds: number[];
    /** fraction of pairs with mean corner error <= t (failures count as incorrect) */
    accuracy: (number | null)[];
    accuracy_i: (number | null)[];
    accuracy_v: (number | null)[];
    /** mean corner error over the pairs where an estimate exists, in pixels */
    mean_corner_error: number | null;
    failed: number;
  };
}

const mean = (xs: number[]): number | null => (xs.length ? xs.reduce((s, v) => s + v, 0) / xs.length : null);

function meanCurve(records: PairRecord[]): (number | null)[] {
  return MMA_THRESHOLDS.map((_, t) => mean(records.map((r) => r.accuracy[t])));
}

function homographyCurve(records: PairRecord[]): (number | null)[] {
  return HOMOGRAPHY_THRESHOLDS.map((t) => mean(records.map((r) => (r.cornerError <= t ? 1 : 0))));
}

/** Aggregate per-pair records and per-image feature counts into the summary. */
export function summarize(
  method: string,
  dataset: string,
  sequences: number,
  featureCounts: number[],
  records: PairRecord[],
): EvalSummary {
  const iRec = records.filter((r) => r.type === "i");
  const vRec = records.filter((r) => r.type === "v");
  const estimated = records.filter((r) => Number.isFinite(r.cornerError));
  return {
    method,
    dataset,
    sequences,
    images: featureCounts.length,
    pairs: records.length,
    pairs_i: iRec.length,
    pairs_v: vRec.length,
    thresholds: MMA_THRESHOLDS,
    mma: meanCurve(records),
    mma_i: meanCurve(iRec),
    mma_v: meanCurve(vRec),
    features: mean(featureCounts) ?? 0,
    matches: mean(records.map((r) => r.matches)) ?? 0,
    matches_i: mean(iRec.map((r) => r.matches)),
    matches_v: mean(vRec.map((r) => r.matches)),
    zero_match_pairs: records.filter((r) => r.matches === 0).length,
    homography: {
      thresholds: HOMOGRAPHY_THRESHOLDS,
      accuracy: homographyCurve(records),
      accuracy_i: homographyCurve(iRec),
      accuracy_v: homographyCurve(vRec),
      mean_corner_error: mean(estimated.map((r) => r.cornerError)),
      failed: records.length - estimated.length,
    },
  };
}
