// MMA-curve figures (plotly {data, layout}): the HPatches convention of three
// panels (overall, illumination, viewpoint), MMA (%) against the matching
// threshold (px), one line per method with the same colour in every panel.
import type { Figure } from "./chromium";
import type { EvalSummary } from "../eval/metrics";

export interface MmaFigureOptions {
  title?: string;
  /** Legend label per method; default the summary's method name. */
  labels?: string[];
  width?: number;
  height?: number;
}

const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];

const PANELS = [
  { key: "mma", pairs: "pairs", title: "Overall" },
  { key: "mma_i", pairs: "pairs_i", title: "Illumination" },
  { key: "mma_v", pairs: "pairs_v", title: "Viewpoint" },
] as const;

/** MMA curves of several evaluations (one summary per method) on one dataset. */
export function mmaFigure(summaries: EvalSummary[], opts: MmaFigureOptions = {}): Figure {
  const data: object[] = [];
  summaries.forEach((s, m) => {
    const label = opts.labels?.[m] ?? s.method;
    const colour = COLOURS[m % COLOURS.length];
    PANELS.forEach((p, i) => {
      const y = s[p.key].map((v) => (v === null ? null : 100 * v));
      data.push({
        type: "scatter",
        mode: "lines+markers",
        x: s.thresholds,
        y,
        name: label,
        legendgroup: label,
        showlegend: i === 0,
        line: { color: colour, width: 2 },
        marker: { size: 5 },
        xaxis: i === 0 ? "x" : `x${i + 1}`,
        yaxis: i === 0 ? "y" : `y${i + 1}`,
        hovertemplate: `${label}<br>${p.title}: %{y:.1f}% at %{x} px<extra></extra>`,
      });
    });
  });
  const counts = (p: (typeof PANELS)[number]) => {
    const n = summaries.length ? summaries[0][p.pairs] : 0;
    return `${p.title} (${n} pairs)`;
  };
  const layout: Record<string, unknown> = {
    title: { text: opts.title ?? "Mean matching accuracy (HPatches protocol)" },
    width: opts.width ?? 1050,
    height: opts.height ?? 420,
    grid: { rows: 1, columns: 3, pattern: "independent" },
    legend: { orientation: "h", y: -0.3, x: 0.5, xanchor: "center", title: { text: "method" } },
    margin: { t: 80, b: 110, l: 60, r: 20 },
    annotations: PANELS.map((p, i) => ({
      text: counts(p),
      showarrow: false,
      xref: `x${i === 0 ? "" : i + 1} domain`,
      yref: `y${i === 0 ? "" : i + 1} domain`,
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
