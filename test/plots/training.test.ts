// The numbers inside the training and seed figures, checked against values worked by hand:
// moving averages, mean lines and ±1 sd bands (sample sd), error bars.
import { test } from "node:test";
import assert from "node:assert/strict";
import { evenlySpaced, movingAverage, speedAccuracyFigure, trainingCurvesFigure, validationMmaFigure } from "../../lib/plots/training";
import { mmaSeedsFigure } from "../../lib/plots/mma";
import type { EvalSummary } from "../../lib/eval/metrics";
import type { TrainRecord, ValRecord } from "../../lib/training/trainer";

type Trace = Record<string, unknown> & { x: number[]; y: (number | null)[] };
const traces = (fig: { data: object[] }) => fig.data as Trace[];
const near = (a: (number | null)[], b: number[], what: string) =>
  assert.ok(a.length === b.length && a.every((v, i) => v !== null && Math.abs(v - b[i]) < 1e-9), `${what}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);

test("movingAverage: trailing window, shorter at the start", () => {
  near(movingAverage([1, 2, 3, 4, 5], 2), [1, 1.5, 2.5, 3.5, 4.5], "window 2");
  near(movingAverage([1, 2, 3, 4, 5], 3), [1, 1.5, 2, 3, 4], "window 3");
  near(movingAverage([3, 1, 4], 1), [3, 1, 4], "window 1");
  near(movingAverage([2, 4], 10), [2, 3], "window longer than the series");
  assert.throws(() => movingAverage([1], 0), /positive integer/);
});

function trainRecords(det: number[], des: number[]): TrainRecord[] {
  return det.map((d, i) => ({ type: "train", step: i + 1, lr: 1e-3, loss: d + des[i], terms: { det: d, des: des[i] }, grad_norm: 1, batch_ms: 0, step_ms: 0, update_ms: 0, tensors: 0 }));
}

test("training curves: one panel per logged term plus the total, smoothed with the stated window", () => {
  const a = { label: "full / sam seed 0", train: trainRecords([4, 2, 6, 0], [1, 1, 1, 3]) };
  const b = { label: "baseline / sam seed 0", train: trainRecords([1, 1, 1, 1], [2, 2, 2, 2]) };
  const fig = trainingCurvesFigure([a, b], { window: 2 });
  const t = traces(fig);
  // 2 runs x 3 panels (loss, det, des)
  assert.equal(t.length, 6);
  const [aLoss, aDet, aDes] = t;
  assert.deepEqual(aDet.x, [1, 2, 3, 4]);
  near(aDet.y, [4, 3, 4, 3], "det, window 2: 4, (4+2)/2, (2+6)/2, (6+0)/2");
  near(aDes.y, [1, 1, 1, 2], "des");
  near(aLoss.y, [5, 4, 5, 5], "total 5, 3, 7, 3 averaged in pairs");
  assert.deepEqual([aLoss.xaxis, aDet.xaxis, aDes.yaxis], ["x", "x2", "y3"]);
  assert.deepEqual(t.map((d) => d.showlegend), [true, false, false, true, false, false]);
  assert.equal(t[3].name, "baseline / sam seed 0");
  const layout = fig.layout as Record<string, any>;
  assert.match(layout.title.text, /moving average over 2 steps/);
  assert.equal(layout.xaxis3.title.text, "step");
  assert.equal(layout.yaxis.title.text, "loss (unitless)");
  assert.deepEqual(layout.annotations.map((n: { text: string }) => n.text.split(":")[0]), ["total (weighted sum)", "det", "des"]);
  assert.match((trainingCurvesFigure([a], { window: 1 }).layout as any).title.text, /raw values/);
  // Thinned to 3 points: every 2nd step of the smoothed curve, and the last.
  const thin = traces(trainingCurvesFigure([a], { window: 2, maxPoints: 3 }));
  assert.deepEqual(thin[1].x, [1, 3, 4]);
  near(thin[1].y, [4, 4, 3], "det smoothed, steps 1, 3, 4");
});

test("evenlySpaced keeps every index up to the limit, then a stride ending on the last", () => {
  assert.deepEqual(evenlySpaced(4, 10), [0, 1, 2, 3]);
  assert.deepEqual(evenlySpaced(10, 4), [0, 3, 6, 9]);
  // stride ceil(599 / 199) = 4: 0, 4, ..., 596 (150 indices), then 599
  assert.deepEqual(evenlySpaced(600, 200), [...Array.from({ length: 150 }, (_, i) => 4 * i), 599]);
  assert.deepEqual(evenlySpaced(5, 2), [0, 4]);
});

function valRecords(mma3: (number | undefined)[]): ValRecord[] {
  return mma3.flatMap((v, i) => (v === undefined ? [] : [{ type: "val" as const, step: 50 * (i + 1), loss: 1, terms: {}, mma: [0, 0, v, 0, 0, 0, 0, 0, 0, 0], features: 100, ms: 1 }]));
}

test("validation MMA: mean over seeds with a ±1 sample-sd band, fewer seeds where a run stopped early", () => {
  // step 50: 0.60, 0.64, 0.62 -> mean 62 %, sd 2 %; step 100: 0.70, 0.74 (third run stopped) -> mean 72 %, sd sqrt(0.0008) = 2.828 %
  const group = { label: "full / sam", runs: [{ val: valRecords([0.6, 0.7]) }, { val: valRecords([0.64, 0.74]) }, { val: valRecords([0.62]) }] };
  const single = { label: "baseline / sam", runs: [{ val: valRecords([0.5, 0.55]) }] };
  const fig = validationMmaFigure([group, single]);
  const t = traces(fig);
  assert.equal(t.length, 3, "band + line, then the single-seed line without band");
  const [band, line, one] = t;
  assert.equal(band.fill, "toself");
  assert.deepEqual(band.x, [50, 100, 100, 50]);
  const s = 100 * Math.sqrt(0.0008);
  near(band.y, [64, 72 + s, 72 - s, 60], "upper forward, lower backward");
  assert.deepEqual(line.x, [50, 100]);
  near(line.y, [62, 72], "mean line");
  assert.equal(line.name, "full / sam (3 seeds)");
  assert.equal(band.legendgroup, line.legendgroup);
  near(one.y, [50, 55], "single seed");
  assert.equal(one.name, "baseline / sam (1 seed)");
  const layout = fig.layout as Record<string, any>;
  assert.equal(layout.yaxis.title.text, "MMA@3 px (%)");
  assert.equal(layout.xaxis.title.text, "step");
  assert.throws(() => validationMmaFigure([group], { threshold: 12 }), /not one of 1..10/);
});

function summary(method: string, v: number): EvalSummary {
  const T = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  return {
    method, dataset: "d", sequences: 1, images: 6, pairs: 5, pairs_i: 2, pairs_v: 3, thresholds: T,
    mma: T.map((t) => (v * t) / 10), mma_i: T.map(() => v), mma_v: T.map(() => v / 2),
    features: 1, matches: 1, matches_i: 1, matches_v: 1, zero_match_pairs: 0,
    homography: { thresholds: [1, 3, 5], accuracy: [0, 0, 0], accuracy_i: [0, 0, 0], accuracy_v: [0, 0, 0], mean_corner_error: null, failed: 0 },
  };
}

test("MMA curves over seeds: mean ± sd band in each of the three panels; no band for one seed", () => {
  // seeds 0.6 and 0.8: illumination mean 70 %, sd sqrt(0.02) = 14.142 %; overall at t px: mean 7t %, sd 1.4142 t %
  const fig = mmaSeedsFigure([
    { label: "full", summaries: [summary("full-0", 0.6), summary("full-1", 0.8)] },
    { label: "orb", summaries: [summary("orb", 0.4)] },
  ]);
  const t = traces(fig);
  assert.equal(t.length, 3 * 2 + 3, "full: band + line per panel; orb: line per panel");
  const [overallBand, overallLine, illumBand, illumLine, viewBand] = t;
  const T = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const sd = 100 * Math.sqrt(0.02);
  near(overallLine.y, T.map((x) => 7 * x), "overall mean");
  near(overallBand.y, [...T.map((x) => 7 * x + (sd * x) / 10), ...[...T].reverse().map((x) => 7 * x - (sd * x) / 10)], "overall band");
  near(illumLine.y, T.map(() => 70), "illumination mean");
  near(illumBand.y, [...T.map(() => 70 + sd), ...T.map(() => 70 - sd)], "illumination band");
  assert.deepEqual([illumBand.xaxis, viewBand.yaxis], ["x2", "y3"]);
  near(viewBand.y.slice(0, 1), [35 + sd / 2], "viewpoint band");
  assert.equal(overallLine.name, "full (2 seeds)");
  assert.deepEqual(t.slice(6).map((d) => [d.name, d.fill ?? "none"]), [["orb", "none"], ["orb", "none"], ["orb", "none"]]);
  near(t[6].y, T.map((x) => 4 * x), "orb line");
  assert.match((fig.layout as any).title.text, /mean ± 1 sd over seeds/);
});

test("speed-accuracy scatter: x in ms, y in %, error bars from the sd", () => {
  const fig = speedAccuracyFigure([
    { label: "full w0.5", msPerImage: 405, mma3: { mean: 0.62, sd: 0.02 } },
    { label: "ORB", msPerImage: { mean: 84, sd: 3 }, mma3: 0.41 },
  ]);
  const [a, b] = traces(fig);
  assert.deepEqual(a.x, [405]);
  near(a.y, [62], "MMA@3 %");
  near((a.error_y as { array: number[] }).array, [2], "error bar = sd in %");
  assert.equal(a.error_x, undefined);
  near(b.y, [41], "ORB");
  assert.deepEqual((b.error_x as { array: number[] }).array, [3]);
  assert.equal(b.error_y, undefined);
  assert.equal(b.name, "ORB");
  const layout = fig.layout as Record<string, any>;
  assert.equal(layout.xaxis.title.text, "time per image (ms)");
  assert.equal(layout.yaxis.title.text, "MMA@3 px (%)");
  assert.equal((speedAccuracyFigure([], { logX: true }).layout as any).xaxis.type, "log");
});
