// MMA-curve figures (plotly {data, layout}): the HPatches convention of three
// panels (overall, illumination, viewpoint), MMA (%) against the matching
// threshold (px), one line per method with the same colour in every panel.
// A method evaluated for several seeds is drawn as its mean with a ±1 sd band.
import type { Figure } from "./chromium";
import type { EvalSummary } from "../eval/metrics";
import { aggregateSeeds } from "../eval/seeds";
import { bandTrace, colourAt, axisName } from "./bands";

export interface MmaFigureOptions {
  title?: string;
  /** Legend label per method; default the summary's method name. */
  labels?: string[];
  width?: number;
  height?: number;
}

/** One method and its per-seed evaluations (one summary for a deterministic method). */
export interface MethodSeeds {
  label: string;
  summaries: EvalSummary[];
}

const PANELS = [
  { key: "mma", pairs: "pairs", title: "Overall" },
  { key: "mma_i", pairs: "pairs_i", title: "Illumination" },
  { key: "mma_v", pairs: "pairs_v", title: "Viewpoint" },
] as const;

const pct = (v: number | null) => (v === null ? null : 100 * v);

/** MMA curves of several evaluations (one summary per method) on one dataset. */
export function mmaFigure(summaries: EvalSummary[], opts: MmaFigureOptions = {}): Figure {
  return mmaSeedsFigure(
    summaries.map((s, m) => ({ label: opts.labels?.[m] ?? s.method, summaries: [s] })),
    opts,
  );
}

/**
 * MMA curves of several methods on one dataset, each over its seeds: the mean line and, for two
 * seeds or more, a band of ±1 sample standard deviation across seeds. The legend gives each
 * method's seed count.
 */
export function mmaSeedsFigure(methods: MethodSeeds[], opts: Omit<MmaFigureOptions, "labels"> = {}): Figure {
  const data: object[] = [];
  const aggregates = methods.map((m) => aggregateSeeds(m.summaries, m.label));
  const anySeeds = aggregates.some((a) => a.seeds > 1);
  aggregates.forEach((agg, m) => {
    const label = agg.seeds > 1 ? `${agg.method} (${agg.seeds} seeds)` : agg.method;
    const colour = colourAt(m);
    PANELS.forEach((p, i) => {
      const curve = agg[p.key];
      const mean = curve.map((c) => pct(c.mean));
      const lower = curve.map((c) => (c.mean === null || c.sd === null ? null : 100 * (c.mean - c.sd)));
      const upper = curve.map((c) => (c.mean === null || c.sd === null ? null : 100 * (c.mean + c.sd)));
      const axes = { xaxis: axisName("x", i), yaxis: axisName("y", i) };
      const band = bandTrace(agg.thresholds, lower, upper, { colour, legendgroup: label, ...axes });
      if (band) data.push(band);
      data.push({
        type: "scatter",
        mode: "lines+markers",
        x: agg.thresholds,
        y: mean,
        name: label,
        legendgroup: label,
        showlegend: i === 0,
        line: { color: colour, width: 2 },
        marker: { size: 5 },
        ...axes,
        ...(band ? { customdata: curve.map((c) => pct(c.sd)) } : {}),
        hovertemplate: band
          ? `${label}<br>${p.title}: %{y:.1f} ± %{customdata:.1f}% at %{x} px<extra></extra>`
          : `${label}<br>${p.title}: %{y:.1f}% at %{x} px<extra></extra>`,
      });
    });
  });
  const counts = (p: (typeof PANELS)[number]) => {
    const n = aggregates.length ? aggregates[0][p.pairs] : 0;
    return `${p.title} (${n} pairs)`;
  };
  const defaultTitle = anySeeds
    ? "Mean matching accuracy (HPatches protocol), mean ± 1 sd over seeds"
    : "Mean matching accuracy (HPatches protocol)";
  const layout: Record<string, unknown> = {
    title: { text: opts.title ?? defaultTitle },
    width: opts.width ?? 1050,
    height: opts.height ?? 420,
    grid: { rows: 1, columns: 3, pattern: "independent" },
    legend: { orientation: "h", y: -0.3, x: 0.5, xanchor: "center", title: { text: "method" } },
    margin: { t: 80, b: 110, l: 60, r: 20 },
    annotations: PANELS.map((p, i) => ({
      text: counts(p),
      showarrow: false,
      xref: `${axisName("x", i)} domain`,
      yref: `${axisName("y", i)} domain`,
      x: 0.5,
      y: 1.08,
      font: { size: 14 },
    })),
  };
  PANELS.forEach((_, i) => {
    const sfx = i === 0 ? "" : String(i + 1);
    layout[`xaxis${sfx}`] = { title: { text: "threshold (px)" }, range: [0.5, 10.5], dtick: 1 };
    layout[`yaxis${sfx}`] = { title: { text: i === 0 ? "MMA (%)" : "" }, range: [0, 100] };
  });
  return { data, layout };
}
