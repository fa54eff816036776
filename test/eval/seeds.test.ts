// Seed aggregation against means and sample standard deviations worked by hand:
//   A: 0.60, 0.64, 0.62  mean 0.62   deviations -0.02, +0.02, 0   sd = sqrt(0.0008 / 2) = 0.02
//   B: 0.50, 0.53        mean 0.515  deviations -0.015, +0.015    sd = sqrt(0.00045 / 1) = 0.0212132
//   C: 0.61, 0.65        mean 0.63   deviations -0.02, +0.02      sd = sqrt(0.0008 / 1) = 0.0282843
import { test } from "node:test";
import assert from "node:assert/strict";
import { aggregateSeeds, compareSplitsWithSpread, compareWithSpread, formatMeanSd, meanSd, seedTable, seedTableRows } from "../../lib/eval/seeds";
import type { EvalSummary } from "../../lib/eval/metrics";

const T = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

/** A summary whose MMA is `v` at 3 px, v - 0.1 at 1 px and v + 0.1 elsewhere; illumination +0.05, viewpoint -0.05. */
function summary(method: string, v: number, opts: { dataset?: string; pairs_i?: number } = {}): EvalSummary {
  const curve = (shift: number) => T.map((t) => (t === 3 ? v : t === 1 ? v - 0.1 : v + 0.1) + shift);
  const pairs_i = opts.pairs_i ?? 4;
  return {
    method,
    dataset: opts.dataset ?? "../data/synthetic-hpatches",
    sequences: 2,
    images: 12,
    pairs: pairs_i + 6,
    pairs_i,
    pairs_v: 6,
    thresholds: T,
    mma: curve(0),
    mma_i: pairs_i ? curve(0.05) : T.map(() => null),
    mma_v: curve(-0.05),
    features: 1000 + 100 * v,
    matches: 300,
    matches_i: 300,
    matches_v: 300,
    zero_match_pairs: 0,
    homography: { thresholds: [1, 3, 5], accuracy: [0, 0, 0], accuracy_i: [0, 0, 0], accuracy_v: [0, 0, 0], mean_corner_error: 1, failed: 0 },
  };
}

const A = [0.6, 0.64, 0.62].map((v, s) => summary(`full-seed${s}`, v));
const B = [0.5, 0.53].map((v, s) => summary(`baseline-seed${s}`, v));
const C = [0.61, 0.65].map((v, s) => summary(`psrd-seed${s}`, v));

const close = (actual: number | null, expected: number, what: string) => assert.ok(actual !== null && Math.abs(actual - expected) < 1e-9, `${what}: ${actual} vs ${expected}`);

test("meanSd: sample standard deviation (n - 1), nulls ignored, no sd below two values", () => {
  const m = meanSd([0.6, null, 0.64, 0.62]);
  assert.equal(m.n, 3);
  close(m.mean, 0.62, "mean");
  close(m.sd, 0.02, "sd");
  assert.deepEqual(meanSd([0.5]), { mean: 0.5, sd: null, n: 1 });
  assert.deepEqual(meanSd([null]), { mean: null, sd: null, n: 0 });
  // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, sum of squares 32, sample sd sqrt(32 / 7)
  close(meanSd([2, 4, 4, 4, 5, 5, 7, 9]).sd, Math.sqrt(32 / 7), "textbook sd");
});

test("aggregateSeeds: mean and sd per threshold and split", () => {
  const agg = aggregateSeeds(A, "full");
  assert.equal(agg.method, "full");
  assert.equal(agg.seeds, 3);
  close(agg.mma[2].mean, 0.62, "MMA@3 mean");
  close(agg.mma[2].sd, 0.02, "MMA@3 sd");
  close(agg.mma[0].mean, 0.52, "MMA@1 mean");
  close(agg.mma_i[2].mean, 0.67, "MMA@3 illumination");
  close(agg.mma_v[9].mean, 0.67, "MMA@10 viewpoint (0.62 + 0.1 - 0.05)");
  close(agg.mma_v[9].sd, 0.02, "shifted curves keep the sd");
  close(agg.features.mean, 1062, "features");
  assert.throws(() => aggregateSeeds([A[0], summary("x", 0.6, { dataset: "other" })]), /dataset differs/);
  assert.throws(() => aggregateSeeds([]), /no summaries/);
});

test("seed table: 'mean ± sd' text and numeric columns in percent; empty splits left out", () => {
  const viewpointOnly = [summary("real-0", 0.4, { pairs_i: 0 })];
  const rows = seedTableRows([
    { row: "full", teacher: "sam", summaries: A },
    { row: "baseline", teacher: "sam", summaries: B },
    { row: "orb", teacher: "", summaries: viewpointOnly },
  ]);
  assert.equal(rows.length, 3 + 3 + 2);
  const full = rows[0];
  assert.deepEqual([full.row, full.teacher, full.dataset, full.split, full.seeds, full.pairs], ["full", "sam", "synthetic-hpatches", "overall", 3, 10]);
  assert.equal(full["MMA@3"], "62.0 ± 2.0");
  assert.equal(full["MMA@1"], "52.0 ± 2.0");
  assert.equal(full["MMA@3_mean"], 62);
  assert.equal(full["MMA@3_sd"], 2);
  assert.equal(rows[1]["MMA@3"], "67.0 ± 2.0"); // illumination
  const base = rows[3];
  assert.equal(base["MMA@3"], "51.5 ± 2.1");
  assert.equal(base["MMA@3_sd"], 2.12);
  assert.deepEqual(rows.slice(6).map((r) => [r.split, r["MMA@3"], r["MMA@3_sd"]]), [
    ["overall", "40.0", null],
    ["viewpoint", "35.0", null],
  ]);
  const { frame, csv } = seedTable([{ row: "full", teacher: "sam", summaries: A }]);
  assert.deepEqual(frame.shape, [3, 6 + 4 + 8]);
  const [header, first] = csv.trim().split("\n");
  assert.ok(header.startsWith("row,teacher,dataset,split,seeds,pairs,MMA@1,MMA@3"), header);
  assert.ok(first.startsWith("full,sam,synthetic-hpatches,overall,3,10,52.0 ± 2.0,62.0 ± 2.0"), first);
  assert.equal(formatMeanSd({ mean: null, sd: null, n: 0 }), "");
});

test("compareWithSpread: a difference beyond the larger sd, and one within it", () => {
  const a = aggregateSeeds(A, "full"), b = aggregateSeeds(B, "baseline"), c = aggregateSeeds(C, "psrd");
  const ab = compareWithSpread(a, b);
  close(ab.difference, 10.5, "62.0 - 51.5 pp");
  close(ab.spread, 100 * Math.sqrt(0.00045), "larger sd is B's");
  assert.equal(ab.exceedsSpread, true);
  assert.match(ab.text, /^full − baseline, MMA@3 overall: \+10\.50 pp; larger seed sd 2\.12 pp: exceeds the seed spread$/);
  const ca = compareWithSpread(c, a);
  close(ca.difference, 1, "63.0 - 62.0 pp");
  close(ca.spread, 100 * Math.sqrt(0.0008), "larger sd is C's");
  assert.equal(ca.exceedsSpread, false);
  assert.match(ca.text, /within the seed spread/);
  // At 1 px and in the viewpoint split the curves are shifted equally: same difference.
  close(compareWithSpread(a, b, { threshold: 1, split: "viewpoint" }).difference, 10.5, "viewpoint at 1 px");
  const one = compareWithSpread(aggregateSeeds([A[0]]), b);
  assert.equal(one.spread, null);
  assert.equal(one.exceedsSpread, null);
  assert.throws(() => compareWithSpread(a, b, { threshold: 11 }), /no 11 px threshold/);
});

test("compareSplitsWithSpread: every split with pairs on both sides, none without", () => {
  const a = aggregateSeeds(A, "full"), b = aggregateSeeds(B, "baseline");
  assert.deepEqual(compareSplitsWithSpread(a, b).map((c) => c.split), ["overall", "illumination", "viewpoint"]);
  // Without illumination pairs (as on hpatches-sample): overall and viewpoint only, same 10.5 pp as above.
  const noI = (vs: number[], name: string) => aggregateSeeds(vs.map((v, s) => summary(`${name}-seed${s}`, v, { pairs_i: 0 })), name);
  const steps = compareSplitsWithSpread(noI([0.6, 0.64, 0.62], "full"), noI([0.5, 0.53], "baseline"));
  assert.deepEqual(steps.map((c) => c.split), ["overall", "viewpoint"]);
  close(steps[1].difference, 10.5, "viewpoint");
});
