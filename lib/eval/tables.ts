// Evaluation results as danfojs DataFrames (percentages, 2 decimals): the MMA
// curve of one method, a per-method summary, and the homography-accuracy table.
import * as dfd from "danfojs-node";
import type { EvalSummary } from "./metrics";

/** A fraction as a percentage with 2 decimals (null stays null). */
export const pct = (v: number | null): number | null => (v === null ? null : Math.round(v * 10000) / 100);
const round = (v: number | null, d = 1): number | null => (v === null ? null : Math.round(v * 10 ** d) / 10 ** d);

/** The HPatches splits and the EvalSummary fields holding each. */
export const SPLITS = [
  { label: "overall", mma: "mma", hom: "accuracy", matches: "matches", pairs: "pairs" },
  { label: "illumination", mma: "mma_i", hom: "accuracy_i", matches: "matches_i", pairs: "pairs_i" },
  { label: "viewpoint", mma: "mma_v", hom: "accuracy_v", matches: "matches_v", pairs: "pairs_v" },
] as const;

/** Rows threshold 1..10 px; columns MMA (%) overall / illumination / viewpoint. */
export function mmaCurveRows(s: EvalSummary): Record<string, number | null>[] {
  return s.thresholds.map((t, i) => ({
    threshold_px: t,
    overall: pct(s.mma[i]),
    illumination: pct(s.mma_i[i]),
    viewpoint: pct(s.mma_v[i]),
  }));
}

/** One row per method and split (splits without pairs are left out): MMA@1/3/5/10 (%), #features, #matches. */
export function summaryRows(summaries: EvalSummary[]): Record<string, string | number | null>[] {
  const rows: Record<string, string | number | null>[] = [];
  for (const s of summaries) {
    for (const sp of SPLITS) {
      if (s[sp.pairs] === 0) continue;
      const mma = s[sp.mma];
      rows.push({
        method: s.method,
        split: sp.label,
        pairs: s[sp.pairs],
        "MMA@1": pct(mma[0]),
        "MMA@3": pct(mma[2]),
        "MMA@5": pct(mma[4]),
        "MMA@10": pct(mma[9]),
        features: round(s.features),
        matches: round(s[sp.matches]),
      });
    }
  }
  return rows;
}

/** One row per method and split: homography accuracy (%) at 1/3/5 px from the mean corner error. */
export function homographyRows(summaries: EvalSummary[]): Record<string, string | number | null>[] {
  const rows: Record<string, string | number | null>[] = [];
  for (const s of summaries) {
    for (const sp of SPLITS) {
      if (s[sp.pairs] === 0) continue;
      const acc = s.homography[sp.hom];
      const row: Record<string, string | number | null> = { method: s.method, split: sp.label, pairs: s[sp.pairs] };
      s.homography.thresholds.forEach((t, i) => (row[`H-acc@${t}px`] = pct(acc[i])));
      // corner error and failures are reported for all pairs together
      const overall = sp.label === "overall";
      row.mean_corner_error_px = overall ? round(s.homography.mean_corner_error, 2) : null;
      row.failed = overall ? s.homography.failed : null;
      rows.push(row);
    }
  }
  return rows;
}

export function toDataFrame(rows: Record<string, unknown>[]): dfd.DataFrame {
  return new dfd.DataFrame(rows);
}

export function toCsv(df: dfd.DataFrame): string {
  return dfd.toCSV(df, {}) as string;
}
