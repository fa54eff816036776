// HTML for plotly figures: an interactive chart when scripts run, the static PNG
// when they do not (untrusted notebooks and most static viewers sanitise HTML:
// scripts are dropped, a data-URL <img> survives).
//
// plotly.js-dist ships a 10 MB unminified bundle. Inlined as gzip + base64 it
// costs about 2.5 MB, so it goes only where a page must stand alone: standalone
// figure files and HTML exports of notebooks (withPlotlyLibrary). A figure's own
// HTML never carries it; it waits for window.Plotly, keeping the PNG meanwhile
// (how notebooks get the library: see display.ts). Decompression uses the
// browser's DecompressionStream.
import * as fs from "node:fs";
import { randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import { Figure, jsonForScript } from "./chromium";

let plotlyGzBase64: string | undefined;

function plotlyPayload(): string {
  if (plotlyGzBase64 === undefined) {
    const source = fs.readFileSync(require.resolve("plotly.js-dist"));
    plotlyGzBase64 = gzipSync(source, { level: 9 }).toString("base64");
  }
  return plotlyGzBase64;
}

/** A <script> that defines window.Plotly unless the page already has it (or is loading it). */
export function plotlyLibraryScript(): string {
  return `<script>
(function () {
  if (window.Plotly || window.__plotlyLoading) return;
  window.__plotlyLoading = (async function () {
    var bytes = Uint8Array.from(atob("${plotlyPayload()}"), function (c) { return c.charCodeAt(0); });
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    var script = document.createElement("script");
    script.textContent = await new Response(stream).text();
    document.head.appendChild(script);
  })();
})();
</script>`;
}

export interface FigureHtmlOptions {
  /** Include the plotly library loader before the figure (default false). */
  includeLibrary?: boolean;
  /** Static render shown until (or instead of) the interactive chart. */
  png?: Uint8Array;
  /** One line shown under the figure (e.g. why there is no static render). */
  note?: string;
}

/** Class of every figure's container div: how exports and tests find the figures of a page. */
export const FIGURE_CLASS = "samfeat-plotly-figure";

export function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Figure title as plain text, for alt text, captions and file names. */
export function figureTitle(fig: Figure): string {
  const title = (fig.layout as { title?: string | { text?: string } }).title;
  const text = typeof title === "string" ? title : title?.text ?? "";
  return text.replace(/<[^>]*>/g, "").trim();
}

/** An HTML fragment showing `fig`: PNG fallback inside a div the script replaces with the live chart. */
export function figureHtml(fig: Figure, opts: FigureHtmlOptions = {}): string {
  const id = `plot-${randomBytes(6).toString("hex")}`;
  const height = (fig.layout as { height?: number }).height ?? 450;
  const alt = escapeHtml(figureTitle(fig) || "plotly figure");
  const fallback = opts.png
    ? `<img src="data:image/png;base64,${Buffer.from(opts.png).toString("base64")}" alt="${alt}" style="max-width:100%">`
    : "";
  const note = opts.note ? `<div style="font-size:smaller;color:#666">${escapeHtml(opts.note)}</div>` : "";
  const figure = jsonForScript({ data: fig.data, layout: fig.layout, config: { responsive: true, ...fig.config } });
  return `${opts.includeLibrary ? plotlyLibraryScript() + "\n" : ""}<div id="${id}" class="${FIGURE_CLASS}" style="width:100%;min-height:${height}px">${fallback}</div>${note}
<script>
(function draw(tries) {
  var el = document.getElementById("${id}");
  if (!el) return;
  if (!window.Plotly) {
    // The library arrives with an earlier output (or is still decompressing); keep the PNG meanwhile.
    if (tries < 300) setTimeout(function () { draw(tries + 1); }, 100);
    return;
  }
  var fig = ${figure};
  el.innerHTML = "";
  window.Plotly.newPlot(el, fig.data, fig.layout, fig.config);
})(0);
</script>`;
}

/** A self-contained HTML document for `fig` (library included), for files in outputs/. */
export function standaloneHtml(fig: Figure, opts: { png?: Uint8Array; note?: string } = {}): string {
  const title = escapeHtml(figureTitle(fig) || "figure");
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${title}</title></head>
<body>
${figureHtml(fig, { includeLibrary: true, ...opts })}
</body></html>
`;
}

/**
 * An HTML page (e.g. an nbconvert export of a notebook) with the plotly library added to its head
 * when it shows at least one figure, so its figures draw without any server. Pages without figures
 * come back unchanged.
 */
export function withPlotlyLibrary(page: string): string {
  if (!page.includes(FIGURE_CLASS)) return page;
  const head = page.indexOf("</head>");
  if (head < 0) return plotlyLibraryScript() + "\n" + page;
  return page.slice(0, head) + plotlyLibraryScript() + "\n" + page.slice(head);
}
