// Showing figures, images and tables. Inside a tslab notebook each call emits ONE
// output carrying several representations, so the front end picks what it can:
//   application/vnd.plotly.v1+json  JupyterLab with the plotly extension, VS Code
//   text/html                       interactive chart when trusted; the PNG inside it otherwise
//   image/png                       static viewers, nbconvert, anything else
// Outside a notebook the same calls write files under outputs/ (figures, images)
// or print (tables).
//
// Where the plotly library comes from (it is 2.5 MB even compressed, and a saved
// notebook must stay small). The first figure of a kernel session sends the
// library to the front end in an output of its own, then at once replaces that
// output (update_display_data) with an empty one. The front end has run the
// script by then (classic Notebook 6 and JupyterLab run an output's scripts when
// they render it; window.Plotly outlives the output), while the saved notebook
// keeps only the empty replacement: every figure output holds the JSON, the PNG
// and a small script that draws the chart once window.Plotly exists. This was
// chosen over a <script src> to a file served by Jupyter (/files/ or
// /nbextensions/ URLs depend on the server's root directory and JUPYTER_PATH, and
// break for a notebook opened elsewhere) and over a server run by the kernel
// (unreachable from a remote browser, gone when the kernel stops). What it gives:
//   live session           interactive (library sent once per kernel session; after
//                          a page reload, restart the kernel to send it again)
//   reopened notebook      the PNG (scripts of a trusted notebook find no Plotly and
//                          keep the PNG); re-running a cell makes it interactive again
//   GitHub, untrusted      the PNG
//   HTML export            interactive when exported with lib/notebook/export-html
//                          (which adds the library to the page); a plain
//                          `jupyter nbconvert --to html` page shows the PNG
import * as path from "node:path";
import sharp from "sharp";
import { writeFileAtomicSync } from "../util/atomic";
import { projectPath } from "../util/project";
import { displayBundle, inNotebook, MimeBundle } from "../notebook/kernel";
import { Figure, figureToPng, findChromium, pngSize } from "./chromium";
import { randomBytes } from "node:crypto";
import { escapeHtml, figureHtml, figureTitle, plotlyLibraryScript, standaloneHtml } from "./html";

export { figureToPng, findChromium } from "./chromium";
export type { Figure } from "./chromium";

/** Where figures and images land when not in a notebook. */
export const OUTPUTS_DIR = projectPath("outputs");

// Whether this kernel session has sent the plotly library to the front end.
// Kept on globalThis because tslab recompiles this module when its source changes.
const LIBRARY_SENT = Symbol.for("samfeat.plots.plotlyLibrarySent");
const sessionState = globalThis as unknown as Record<symbol, boolean | undefined>;

export interface FigureOptions {
  /** File stem under outputs/ (outside a notebook); default: from the title. */
  name?: string;
  /** Directory for files written outside a notebook. */
  outDir?: string;
  /** Static render size; default layout width/height, else 700x450. */
  width?: number;
  height?: number;
}

export interface FigureBundle {
  /** The display_data bundle: plotly JSON, HTML, plain text and (when rendered) PNG. */
  bundle: MimeBundle;
  metadata: Record<string, unknown>;
  png?: Uint8Array;
  /** Why there is no PNG, when there is none. */
  note?: string;
}

/**
 * Every representation of `fig` (without the plotly library). The PNG comes from
 * headless Chromium; when that is unavailable the bundle has no image/png and
 * `note` says why.
 */
export async function figureBundle(
  fig: Figure,
  opts: { browser?: string; width?: number; height?: number } = {},
): Promise<FigureBundle> {
  let png: Uint8Array | undefined;
  let note: string | undefined;
  let browser = opts.browser;
  if (browser === undefined) {
    const found = findChromium();
    if ("path" in found) browser = found.path;
    else note = `PNG unavailable: ${found.reason}`;
  }
  if (browser !== undefined) {
    try {
      png = await figureToPng(fig, { browser, width: opts.width, height: opts.height });
    } catch (e) {
      note = `PNG unavailable: ${(e as Error).message}`;
    }
  }
  const title = figureTitle(fig) || "untitled";
  const bundle: MimeBundle = {
    "application/vnd.plotly.v1+json": { data: fig.data, layout: fig.layout, ...(fig.config ? { config: fig.config } : {}) },
    "text/html": figureHtml(fig, { png, note }),
    "text/plain": `<Figure: ${title}>${note ? `\n${note}` : ""}`,
  };
  const metadata: Record<string, unknown> = {};
  if (png) {
    bundle["image/png"] = png;
    metadata["image/png"] = pngSize(fig, opts);
  }
  return { bundle, metadata, png, note };
}

/**
 * Send the plotly library to the notebook front end for this page, without
 * leaving it in the notebook: an output that runs the loader script, replaced
 * at once by an empty one.
 */
function sendPlotlyLibrary(): void {
  const displayId = `plotly-library-${randomBytes(6).toString("hex")}`;
  displayBundle({ "text/html": plotlyLibraryScript(), "text/plain": "" }, {}, { displayId });
  displayBundle({ "text/plain": "" }, {}, { displayId, update: true });
}

/**
 * Show a plotly figure. In a notebook: one output (plotly JSON + HTML + PNG),
 * preceded once per kernel session by the library (see the top of this file).
 * Elsewhere: writes <outDir>/<name>.html (self-contained, interactive) and
 * <name>.png, and prints one line naming them.
 */
export async function showFigure(fig: Figure, opts: FigureOptions = {}): Promise<void> {
  if (inNotebook()) {
    const { bundle, metadata } = await figureBundle(fig, opts);
    if (!sessionState[LIBRARY_SENT]) {
      sendPlotlyLibrary();
      sessionState[LIBRARY_SENT] = true;
    }
    displayBundle(bundle, metadata);
    return;
  }
  const stem = fileStem(opts.name, figureTitle(fig), "figure");
  const dir = opts.outDir ?? OUTPUTS_DIR;
  const { png, note } = await figureBundle(fig, opts);
  const htmlFile = path.join(dir, `${stem}.html`);
  writeFileAtomicSync(htmlFile, standaloneHtml(fig, { png, note }));
  const written = [htmlFile];
  if (png) {
    const pngFile = path.join(dir, `${stem}.png`);
    writeFileAtomicSync(pngFile, png);
    written.push(pngFile);
  }
  const shown = written.map((f) => path.relative(process.cwd(), f)).join(", ");
  console.log(`figure: ${shown}${note ? ` (${note})` : ""}`);
}

export interface ImageOptions {
  title?: string;
  /** File stem under outputs/ (outside a notebook); default: from the title. */
  name?: string;
  outDir?: string;
}

/** sharp reading raw 8-bit RGB; throws (naming `caller`) when the buffer is not width x height x 3. */
function rawRgb(rgb: { width: number; height: number; data: Uint8Array /* [H,W,3] */ }, caller: string): ReturnType<typeof sharp> {
  if (rgb.data.length !== rgb.width * rgb.height * 3) {
    throw new Error(`${caller}: ${rgb.data.length} bytes is not ${rgb.width}x${rgb.height}x3 RGB`);
  }
  const raw = { width: rgb.width, height: rgb.height, channels: 3 as const };
  return sharp(Buffer.from(rgb.data.buffer, rgb.data.byteOffset, rgb.data.byteLength), { raw });
}

/** Encode an 8-bit RGB image as PNG. */
export async function encodePng(rgb: { width: number; height: number; data: Uint8Array /* [H,W,3] */ }): Promise<Uint8Array> {
  return new Uint8Array(await rawRgb(rgb, "encodePng").png().toBuffer());
}

/**
 * Show an RGB image. In a notebook: the title as a markdown output, then the image as JPEG (quality
 * 90) with a text fallback. One copy of the pixels only: an HTML variant embedding them again (as a
 * caption needs) would double the saved notebook, and photographs are several times smaller as JPEG
 * than as PNG. Elsewhere: written losslessly to <outDir>/<name>.png.
 */
export async function showImage(
  rgb: { width: number; height: number; data: Uint8Array /* [H,W,3] */ },
  opts: ImageOptions = {},
): Promise<void> {
  const title = opts.title ?? "";
  if (inNotebook()) {
    if (title) displayBundle({ "text/markdown": `**${escapeMarkdown(title)}**`, "text/plain": title });
    displayBundle(
      { "image/jpeg": await encodeJpeg(rgb), "text/plain": `<Image ${rgb.width}x${rgb.height}${title ? `: ${title}` : ""}>` },
      { "image/jpeg": { width: rgb.width, height: rgb.height } },
    );
    return;
  }
  const file = path.join(opts.outDir ?? OUTPUTS_DIR, `${fileStem(opts.name, title, "image")}.png`);
  writeFileAtomicSync(file, await encodePng(rgb));
  console.log(`image: ${path.relative(process.cwd(), file)}`);
}

/** Encode an 8-bit RGB image as JPEG (quality 90, no chroma subsampling, so thin coloured marks stay sharp). */
export async function encodeJpeg(rgb: { width: number; height: number; data: Uint8Array /* [H,W,3] */ }): Promise<Uint8Array> {
  return new Uint8Array(await rawRgb(rgb, "encodeJpeg").jpeg({ quality: 90, chromaSubsampling: "4:4:4" }).toBuffer());
}

/** Markdown-escape a title (it is shown as bold text). */
function escapeMarkdown(s: string): string {
  return s.replace(/([\\`*_{}\[\]<>#|])/g, "\\$1");
}

/** The parts of a danfo DataFrame a table needs (duck-typed: loading danfo here would load a second tfjs). */
export interface DataFrameLike {
  columns: string[];
  values: unknown[][] | unknown[];
  index: (string | number)[];
}

export interface TableOptions {
  /** Rows shown before the table is cut (the count of the rest is printed). */
  maxRows?: number;
}

const TABLE_DEFAULTS: Required<TableOptions> = { maxRows: 100 };

/** Show a table: HTML + aligned plain text in a notebook, the plain text elsewhere. */
export function showTable(table: DataFrameLike | Record<string, unknown>[], opts: TableOptions = {}): void {
  const { header, rows } = tableCells(table);
  const { maxRows } = { ...TABLE_DEFAULTS, ...opts };
  const shown = rows.slice(0, maxRows);
  const more = rows.length > shown.length ? `${rows.length - shown.length} more rows` : "";
  const text = textTable(header, shown) + (more ? `\n... ${more}` : "");
  if (inNotebook()) {
    displayBundle({ "text/html": htmlTable(header, shown, more), "text/plain": text });
  } else {
    console.log(text);
  }
}

/** Header and formatted cells of a row list or a DataFrame (its index becomes a first column unless it is 0..n-1). */
export function tableCells(table: DataFrameLike | Record<string, unknown>[]): { header: string[]; rows: string[][] } {
  if (Array.isArray(table)) {
    const header: string[] = [];
    for (const row of table) for (const key of Object.keys(row)) if (!header.includes(key)) header.push(key);
    return { header, rows: table.map((row) => header.map((key) => formatCell(row[key]))) };
  }
  const columns = table.columns.map(String);
  const values = (table.columns.length === 1 && !Array.isArray(table.values[0]) ? table.values.map((v) => [v]) : table.values) as unknown[][];
  const defaultIndex = table.index.every((v, i) => v === i);
  const header = defaultIndex ? columns : ["", ...columns];
  const rows = values.map((row, i) => (defaultIndex ? [] : [formatCell(table.index[i])]).concat(row.map(formatCell)));
  return { header, rows };
}

function formatCell(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") {
    if (Number.isInteger(value) || !Number.isFinite(value)) return String(value);
    return String(Number(value.toPrecision(4)));
  }
  return String(value);
}

function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) => cells.map((cell, c) => cell.padStart(widths[c])).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

function htmlTable(header: string[], rows: string[][], more: string): string {
  const th = header.map((h) => `<th>${escapeHtml(h)}</th>`).join("");
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join("")}</tr>`).join("\n");
  const caption = more ? `<caption style="caption-side:bottom">${escapeHtml(more)}</caption>` : "";
  return `<table>${caption}<thead><tr>${th}</tr></thead>\n<tbody>\n${body}\n</tbody></table>`;
}

function fileStem(name: string | undefined, title: string, fallback: string): string {
  if (name !== undefined) {
    if (!/^[\w.-]+$/.test(name) || name.startsWith(".")) {
      throw new Error(`display: name "${name}" must be a plain file stem (letters, digits, . _ -)`);
    }
    return name;
  }
  const slug = title.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 60);
  return slug || fallback;
}
