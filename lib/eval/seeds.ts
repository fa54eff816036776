// Evaluation results over seeds. One trained configuration evaluated once per seed gives several
// EvalSummary objects; what a table or a comparison reports is their mean and sample standard
// deviation (n - 1 in the denominator) at each threshold. A difference between two configurations
// that is smaller than the larger of their seed spreads is reported as such, not as a gain.
import * as path from "node:path";
import * as dfd from "danfojs-node";
import type { EvalSummary } from "./metrics";
import { pct, SPLITS, toCsv, toDataFrame } from "./tables";

/** Mean and sample standard deviation of the non-null values; sd is null below 2 values. */
export interface MeanSd {
  mean: number | null;
  sd: number | null;
  /** how many values went in */
  n: number;
}

export function meanSd(values: (number | null)[]): MeanSd {
  const xs = values.filter((v): v is number => v !== null);
  const n = xs.length;
  if (n === 0) return { mean: null, sd: null, n };
  const mean = xs.reduce((s, v) => s + v, 0) / n;
  if (n < 2) return { mean, sd: null, n };
  const ss = xs.reduce((s, v) => s + (v - mean) ** 2, 0);
  return { mean, sd: Math.sqrt(ss / (n - 1)), n };
}

/** One configuration over its seeds: MMA curves as fractions (like EvalSummary), per threshold. */
export interface SeedSummary {
  method: string;
  dataset: string;
  seeds: number;
  thresholds: number[];
  pairs: number;
  pairs_i: number;
  pairs_v: number;
  mma: MeanSd[];
  mma_i: MeanSd[];
  mma_v: MeanSd[];
  /** mean number of features per image */
  features: MeanSd;
}

/**
 * Aggregate the summaries of one configuration's seeds. They must come from the same dataset and
 * pair split (otherwise the mean mixes different benchmarks): throws naming what differs.
 */
export function aggregateSeeds(summaries: EvalSummary[], method?: string): SeedSummary {
  if (summaries.length === 0) throw new Error("aggregateSeeds: no summaries");
  const [first] = summaries;
  for (const s of summaries) {
    for (const field of ["dataset", "pairs", "pairs_i", "pairs_v"] as const) {
      if (s[field] !== first[field]) throw new Error(`aggregateSeeds: ${field} differs between seeds (${first[field]} vs ${s[field]})`);
    }
    if (s.thresholds.join() !== first.thresholds.join()) throw new Error("aggregateSeeds: thresholds differ between seeds");
  }
  const curve = (key: "mma" | "mma_i" | "mma_v") => first.thresholds.map((_, t) => meanSd(summaries.map((s) => s[key][t])));
  return {
    method: method ?? first.method,
    dataset: first.dataset,
    seeds: summaries.length,
    thresholds: first.thresholds,
    pairs: first.pairs,
    pairs_i: first.pairs_i,
    pairs_v: first.pairs_v,
    mma: curve("mma"),
    mma_i: curve("mma_i"),
    mma_v: curve("mma_v"),
    features: meanSd(summaries.map((s) => s.features)),
  };
}

/** One table entry: a configuration (ablation row and teacher) and its per-seed summaries. */
export interface SeedTableEntry {
  row: string;
  teacher: string;
  summaries: EvalSummary[];
}

const TABLE_THRESHOLDS = [1, 3, 5, 10];

/** "62.1 ± 1.3" in percent; the mean alone for one seed; "" without pairs. */
export function formatMeanSd(m: MeanSd): string {
  if (m.mean === null) return "";
  const mean = (100 * m.mean).toFixed(1);
  return m.sd === null ? mean : `${mean} ± ${(100 * m.sd).toFixed(1)}`;
}

/**
 * One row per entry and split (splits without pairs left out): MMA@1/3/5/10 as "mean ± sd" (%),
 * then the same as numbers, MMA@t_mean and MMA@t_sd (%, 2 decimals).
 */
export function seedTableRows(entries: SeedTableEntry[]): Record<string, string | number | null>[] {
  const rows: Record<string, string | number | null>[] = [];
  for (const e of entries) {
    const agg = aggregateSeeds(e.summaries);
    for (const sp of SPLITS) {
      if (agg[sp.pairs] === 0) continue;
      const row: Record<string, string | number | null> = {
        row: e.row,
        teacher: e.teacher,
        dataset: path.basename(agg.dataset),
        split: sp.label,
        seeds: agg.seeds,
        pairs: agg[sp.pairs],
      };
      const at = (t: number) => agg[sp.mma][agg.thresholds.indexOf(t)];
      for (const t of TABLE_THRESHOLDS) row[`MMA@${t}`] = formatMeanSd(at(t));
      for (const t of TABLE_THRESHOLDS) {
        row[`MMA@${t}_mean`] = pct(at(t).mean);
        row[`MMA@${t}_sd`] = pct(at(t).sd);
      }
      rows.push(row);
    }
  }
  return rows;
}

/** The seed table as a danfo DataFrame and as CSV text. */
export function seedTable(entries: SeedTableEntry[]): { frame: dfd.DataFrame; csv: string } {
  const frame = toDataFrame(seedTableRows(entries));
  return { frame, csv: toCsv(frame) };
}

export type SplitName = (typeof SPLITS)[number]["label"];

export interface SpreadComparison {
  split: SplitName;
  /** threshold in pixels */
  threshold: number;
  /** mean of a minus mean of b, in percentage points */
  difference: number;
  /** the larger of the two seed standard deviations, in percentage points; null when a side has < 2 seeds */
  spread: number | null;
  /** |difference| > spread; null when the spread is unknown */
  exceedsSpread: boolean | null;
  /** one line for a notebook, e.g. "full − baseline, MMA@3 overall: +2.30 pp; larger seed sd 1.10 pp: exceeds the seed spread" */
  text: string;
}

/** a − b in percentage points against the larger of the two seed sds (fractions in, points out). */
export interface SpreadDifference {
  difference: number;
  /** null when a side has fewer than 2 seeds */
  spread: number | null;
  /** |difference| > spread; null when the spread is unknown */
  exceedsSpread: boolean | null;
}

export function differenceWithSpread(a: MeanSd, b: MeanSd): SpreadDifference {
  if (a.mean === null || b.mean === null) throw new Error("differenceWithSpread: a side has no values");
  const difference = 100 * (a.mean - b.mean);
  const spread = a.sd === null || b.sd === null ? null : 100 * Math.max(a.sd, b.sd);
  return { difference, spread, exceedsSpread: spread === null ? null : Math.abs(difference) > spread };
}

/** The difference of mean MMA (a − b) at one threshold and split, set against the seed spread. */
export function compareWithSpread(a: SeedSummary, b: SeedSummary, opts: { threshold?: number; split?: SplitName } = {}): SpreadComparison {
  const threshold = opts.threshold ?? 3;
  const split = opts.split ?? "overall";
  if (a.dataset !== b.dataset) throw new Error(`compareWithSpread: different datasets (${a.dataset} vs ${b.dataset})`);
  const key = SPLITS.find((s) => s.label === split)!.mma;
  const at = (s: SeedSummary) => {
    const i = s.thresholds.indexOf(threshold);
    if (i < 0) throw new Error(`compareWithSpread: no ${threshold} px threshold in ${s.method}`);
    const m = s[key][i];
    if (m.mean === null) throw new Error(`compareWithSpread: ${s.method} has no ${split} pairs`);
    return m;
  };
  const { difference, spread, exceedsSpread } = differenceWithSpread(at(a), at(b));
  const sign = difference >= 0 ? "+" : "−";
  const verdict =
    spread === null
      ? "seed spread unknown (fewer than 2 seeds on a side)"
      : `larger seed sd ${spread.toFixed(2)} pp: ${exceedsSpread ? "exceeds the seed spread" : "within the seed spread"}`;
  const text = `${a.method} − ${b.method}, MMA@${threshold} ${split}: ${sign}${Math.abs(difference).toFixed(2)} pp; ${verdict}`;
  return { split, threshold, difference, spread, exceedsSpread, text };
}

/** compareWithSpread at `threshold` for every split with pairs on both sides (hpatches-sample has viewpoint pairs only). */
export function compareSplitsWithSpread(a: SeedSummary, b: SeedSummary, threshold = 3): SpreadComparison[] {
  return SPLITS.filter((s) => a[s.pairs] > 0 && b[s.pairs] > 0).map((s) => compareWithSpread(a, b, { threshold, split: s.label }));
}
