// Figures of training runs (plotly {data, layout}, pure functions of the run records):
//   trainingCurvesFigure   every loss term against the step, one panel per term, smoothed
//   validationMmaFigure    validation MMA@t (%) against the step, mean ± 1 sd over a group's seeds
//   speedAccuracyFigure    MMA@3 (%) against the time per image (ms), one marker per configuration
// The MMA curves over seeds (MMA % against threshold px) are mmaSeedsFigure in mma.ts.
import type { Figure } from "./chromium";
import { LOSS_NAMES, LossName } from "../losses/index";
import { meanSd, MeanSd } from "../eval/seeds";
import type { TrainRecord, ValRecord } from "../training/trainer";
import { axisName, bandTrace, colourAt, COLOURS } from "./bands";

/**
 * Trailing moving average: out[i] is the mean of values[i - window + 1 .. i], over the values that
 * exist (the first window - 1 points average fewer values). window = 1 returns the values.
 */
export function movingAverage(values: number[], window: number): number[] {
  if (!(Number.isInteger(window) && window >= 1)) throw new Error(`movingAverage: window ${window} must be a positive integer`);
  const out: number[] = [];
  let sum = 0;
  values.forEach((v, i) => {
    sum += v;
    if (i >= window) sum -= values[i - window];
    out.push(sum / Math.min(i + 1, window));
  });
  return out;
}

/** What a curve needs of a run (RunInfo and SeedGroup from lib/training/runs fit). */
export interface CurveRun {
  label: string;
  train: TrainRecord[];
}

export type CurveName = "loss" | LossName;

const CURVE_TITLES: Record<CurveName, string> = {
  loss: "total (weighted sum)",
  det: "det: detection",
  des: "des: descriptor",
  dis: "dis: PSRD distillation",
  wsc: "wsc: weakly supervised contrastive",
  edge: "edge: EAG edge",
};

export interface TrainingCurvesOptions {
  /** Moving-average window in steps (stated in the title); 1 draws the raw values. Default 25. */
  window?: number;
  /** Panels to draw; default the total and every term some run logged. */
  curves?: CurveName[];
  /** Panels per row. */
  columns?: number;
  /** At most this many points per curve, evenly spaced steps of the smoothed curve (the last kept);
   * keeps a notebook's figure small. Default 200. */
  maxPoints?: number;
  title?: string;
  width?: number;
  height?: number;
}


/** Indices 0..n-1 thinned to at most `max`, evenly spaced, always ending with n-1. */
export function evenlySpaced(n: number, max: number): number[] {
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  // max - 1 strides from 0 cover n - 1, the last index taking the final slot.
  const stride = Math.ceil((n - 1) / (max - 1));
  const out: number[] = [];
  for (let i = 0; i < n - 1; i += stride) out.push(i);
  out.push(n - 1);
  return out;
}

/** Training loss curves of one or more runs: one panel per loss term, one colour per run. */
export function trainingCurvesFigure(runs: CurveRun[], opts: TrainingCurvesOptions = {}): Figure {
  const window = opts.window ?? 25;
  const logged = new Set<string>(runs.flatMap((r) => r.train.flatMap((t) => Object.keys(t.terms))));
  const curves = opts.curves ?? (["loss", ...LOSS_NAMES.filter((n) => logged.has(n))] as CurveName[]);
  const columns = Math.min(opts.columns ?? 3, curves.length);
  const rows = Math.ceil(curves.length / columns);
  const data: object[] = [];
  runs.forEach((run, r) => {
    curves.forEach((curve, i) => {
      const records = run.train.filter((t) => (curve === "loss" ? Number.isFinite(t.loss) : t.terms[curve] !== undefined));
      if (records.length === 0) return;
      const raw = records.map((t) => (curve === "loss" ? t.loss : t.terms[curve]!));
      const kept = evenlySpaced(records.length, opts.maxPoints ?? 200);
      const smooth = movingAverage(raw, window);
      data.push({
        type: "scatter",
        mode: "lines",
        x: kept.map((k) => records[k].step),
        y: kept.map((k) => smooth[k]),
        name: run.label,
        legendgroup: run.label,
        showlegend: !data.some((d) => (d as { legendgroup: string }).legendgroup === run.label),
        line: { color: colourAt(r), width: 1.5 },
        xaxis: axisName("x", i),
        yaxis: axisName("y", i),
        hovertemplate: `${run.label}<br>${curve} at step %{x}: %{y:.4g}<extra></extra>`,
      });
    });
  });
  const smoothing = window > 1 ? `moving average over ${window} steps` : "raw values";
  const layout: Record<string, unknown> = {
    title: { text: opts.title ?? `Training losses (${smoothing})` },
    width: opts.width ?? 1050,
    height: opts.height ?? 160 + 260 * rows,
    grid: { rows, columns, pattern: "independent", ygap: 0.35 },
    legend: { orientation: "h", y: -0.12, x: 0.5, xanchor: "center", yanchor: "top", title: { text: "run" } },
    margin: { t: 80, b: 100, l: 60, r: 20 },
    annotations: curves.map((c, i) => ({
      text: CURVE_TITLES[c],
      showarrow: false,
      xref: `${axisName("x", i)} domain`,
      yref: `${axisName("y", i)} domain`,
      x: 0.5,
      y: 1.12,
      font: { size: 13 },
    })),
  };
  curves.forEach((_, i) => {
    const sfx = i === 0 ? "" : String(i + 1);
    layout[`xaxis${sfx}`] = { title: { text: "step" } };
    layout[`yaxis${sfx}`] = { title: { text: i % columns === 0 ? "loss (unitless)" : "" } };
  });
  return { data, layout };
}

/** What the validation figure needs of a group of seeds (SeedGroup from lib/training/runs fits). */
export interface ValidationGroup {
  label: string;
  runs: { val: ValRecord[] }[];
}

export interface ValidationMmaOptions {
  /** Threshold in pixels (1..10). Default 3. */
  threshold?: number;
  title?: string;
  width?: number;
  height?: number;
}

/** Per validation step: MMA@threshold (fraction) over the runs that reached it. */
export function validationCurve(group: ValidationGroup, threshold = 3): { step: number[]; mma: MeanSd[] } {
  const steps = [...new Set(group.runs.flatMap((r) => r.val.map((v) => v.step)))].sort((a, b) => a - b);
  const mma = steps.map((step) =>
    meanSd(group.runs.map((r) => r.val.find((v) => v.step === step)?.mma[threshold - 1] ?? null)),
  );
  return { step: steps, mma };
}

/**
 * Validation MMA (%) against the step for groups of runs: the mean over each group's seeds, with a
 * ±1 sample sd band where two or more seeds have a value.
 */
export function validationMmaFigure(groups: ValidationGroup[], opts: ValidationMmaOptions = {}): Figure {
  const threshold = opts.threshold ?? 3;
  if (!(Number.isInteger(threshold) && threshold >= 1 && threshold <= 10)) throw new Error(`validationMmaFigure: threshold ${threshold} px is not one of 1..10`);
  const data: object[] = [];
  groups.forEach((g, k) => {
    const colour = colourAt(k);
    const label = `${g.label} (${g.runs.length} seed${g.runs.length === 1 ? "" : "s"})`;
    const { step, mma } = validationCurve(g, threshold);
    const lower = mma.map((m) => (m.sd === null ? null : 100 * (m.mean! - m.sd)));
    const upper = mma.map((m) => (m.sd === null ? null : 100 * (m.mean! + m.sd)));
    const band = bandTrace(step, lower, upper, { colour, legendgroup: label });
    if (band) data.push(band);
    data.push({
      type: "scatter",
      mode: "lines+markers",
      x: step,
      y: mma.map((m) => 100 * m.mean!),
      name: label,
      legendgroup: label,
      line: { color: colour, width: 2 },
      marker: { size: 5 },
      customdata: mma.map((m) => [m.sd === null ? null : 100 * m.sd, m.n]),
      hovertemplate: `${g.label}<br>step %{x}: %{y:.1f}% (sd %{customdata[0]:.1f}, %{customdata[1]} seeds)<extra></extra>`,
    });
  });
  return {
    data,
    layout: {
      title: { text: opts.title ?? `Validation MMA@${threshold} during training (mean ± 1 sd over seeds)` },
      width: opts.width ?? 800,
      height: opts.height ?? 450,
      xaxis: { title: { text: "step" } },
      yaxis: { title: { text: `MMA@${threshold} px (%)` }, rangemode: "tozero" },
      legend: { title: { text: "configuration" } },
    },
  };
}

/** A value with an optional spread (e.g. over seeds). */
export type Measured = number | { mean: number | null; sd: number | null };

export interface SpeedPoint {
  label: string;
  /** milliseconds per image at inference */
  msPerImage: Measured;
  /** MMA@3 as a fraction (EvalSummary / SeedSummary units) */
  mma3: Measured;
}

export interface SpeedAccuracyOptions {
  title?: string;
  /** Logarithmic time axis (for methods spanning orders of magnitude). */
  logX?: boolean;
  /** Write each label beside its marker (default true; off where many markers share a time and the legend names them). */
  textLabels?: boolean;
  width?: number;
  height?: number;
}

const split = (m: Measured): { mean: number; sd: number | null } => {
  if (typeof m === "number") return { mean: m, sd: null };
  if (m.mean === null) throw new Error("speedAccuracyFigure: a point has no mean");
  return { mean: m.mean, sd: m.sd };
};

/** MMA@3 (%) against time per image (ms): one marker per configuration, ±1 sd error bars when given. */
export function speedAccuracyFigure(points: SpeedPoint[], opts: SpeedAccuracyOptions = {}): Figure {
  const data = points.map((p, k) => {
    const ms = split(p.msPerImage), acc = split(p.mma3);
    return {
      type: "scatter",
      mode: opts.textLabels === false ? "markers" : "markers+text",
      x: [ms.mean],
      y: [100 * acc.mean],
      name: p.label,
      text: [p.label],
      textposition: "top center",
      // Colours repeat after eight points; the symbol tells the repeats apart.
      marker: { size: 11, color: colourAt(k), symbol: ["circle", "square", "diamond", "triangle-up"][Math.floor(k / COLOURS.length) % 4] },
      ...(acc.sd !== null ? { error_y: { type: "data", array: [100 * acc.sd], visible: true } } : {}),
      ...(ms.sd !== null ? { error_x: { type: "data", array: [ms.sd], visible: true } } : {}),
      hovertemplate: `${p.label}<br>%{x:.0f} ms per image, MMA@3 %{y:.1f}%<extra></extra>`,
    };
  });
  return {
    data,
    layout: {
      title: { text: opts.title ?? "Accuracy against speed" },
      width: opts.width ?? 800,
      height: opts.height ?? 500,
      xaxis: { title: { text: "time per image (ms)" }, type: opts.logX ? "log" : "linear", rangemode: opts.logX ? undefined : "tozero" },
      yaxis: { title: { text: "MMA@3 px (%)" } },
      legend: { title: { text: "configuration" } },
    },
  };
}
