// What every multi-run figure shares: one colour per configuration (the same index gives the same
// colour in every figure) and the ±1 sd band drawn behind a mean line.

export const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];

export const colourAt = (i: number): string => COLOURS[i % COLOURS.length];

/** Plotly's name of panel i's axis: x, x2, x3, ... (the first axes have no number). */
export const axisName = (prefix: "x" | "y", i: number): string => (i === 0 ? prefix : `${prefix}${i + 1}`);

/** "#rrggbb" as "rgba(r,g,b,alpha)". */
export function withAlpha(hex: string, alpha: number): string {
  const v = parseInt(hex.slice(1), 16);
  return `rgba(${(v >> 16) & 255},${(v >> 8) & 255},${v & 255},${alpha})`;
}

export interface BandOptions {
  colour: string;
  /** legend group of the mean line, so hiding the line hides its band too */
  legendgroup: string;
  xaxis?: string;
  yaxis?: string;
}

/**
 * The filled region between `lower` and `upper` over `x`, as one closed polygon: x forward along the
 * upper edge, then backward along the lower edge. Points where either bound is null are left out.
 * Returns undefined when no point has both bounds (e.g. a single seed has no sd).
 */
export function bandTrace(x: number[], lower: (number | null)[], upper: (number | null)[], opts: BandOptions): object | undefined {
  const keep = x.map((_, i) => i).filter((i) => lower[i] !== null && upper[i] !== null);
  if (keep.length === 0) return undefined;
  const xs = keep.map((i) => x[i]);
  return {
    type: "scatter",
    mode: "lines",
    x: [...xs, ...[...xs].reverse()],
    y: [...keep.map((i) => upper[i]), ...keep.map((i) => lower[i]).reverse()],
    fill: "toself",
    fillcolor: withAlpha(opts.colour, 0.2),
    line: { width: 0, color: opts.colour },
    hoverinfo: "skip",
    showlegend: false,
    legendgroup: opts.legendgroup,
    ...(opts.xaxis ? { xaxis: opts.xaxis } : {}),
    ...(opts.yaxis ? { yaxis: opts.yaxis } : {}),
  };
}
