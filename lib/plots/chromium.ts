// Static PNG renders of plotly figures in headless Chromium: a throwaway page
// loads plotly.js from node_modules, calls Plotly.toImage, and writes the data
// URL into the DOM, which `--dump-dom` prints once the virtual-time budget has
// let the asynchronous render finish. One short-lived browser per figure (about
// a second): no driver library, no browser left running.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import sharp from "sharp";

/** The figure shape plotly accepts: traces plus layout (config optional). */
export interface Figure {
  data: object[];
  layout: object;
  config?: object;
}

export interface PngOptions {
  /** Pixel size of the image; defaults to the layout's width/height, else 700x450. */
  width?: number;
  height?: number;
  /** Browser executable; defaults to findChromium(). */
  browser?: string;
  /** Give up after this many milliseconds. */
  timeoutMs?: number;
}

const DEFAULTS = { width: 700, height: 450, timeoutMs: 60_000 };

// Quiet, offline, throwaway: no network services, no GPU, a fresh profile per run.
const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--virtual-time-budget=30000",
  "--dump-dom",
];

const BROWSER_NAMES = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];

/**
 * Locate a Chromium-family browser: env CHROME_PATH, else the first of
 * chromium / chromium-browser / google-chrome on PATH. Returns the path, or
 * the reason none is usable.
 */
export function findChromium(): { path: string } | { reason: string } {
  const forced = process.env.CHROME_PATH;
  if (forced) {
    return isExecutable(forced) ? { path: forced } : { reason: `CHROME_PATH=${forced} is not an executable file` };
  }
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    for (const name of BROWSER_NAMES) {
      const candidate = path.join(dir, name);
      if (isExecutable(candidate)) return { path: candidate };
    }
  }
  return { reason: "no chromium on PATH (install it with scripts/setup.sh, or set CHROME_PATH)" };
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Size a static render of `fig` will have. */
export function pngSize(fig: Figure, opts: PngOptions = {}): { width: number; height: number } {
  const layout = fig.layout as { width?: number; height?: number };
  return {
    width: opts.width ?? layout.width ?? DEFAULTS.width,
    height: opts.height ?? layout.height ?? DEFAULTS.height,
  };
}

/**
 * Render `fig` to PNG bytes with headless Chromium, stored with a 256-colour palette: a chart has few
 * colours, and the palette PNG is about a quarter of the browser's truecolour one (a notebook keeps
 * every figure's PNG twice, as image/png and inside its HTML). Throws with the reason when it cannot.
 */
export async function figureToPng(fig: Figure, opts: PngOptions = {}): Promise<Uint8Array> {
  let browser = opts.browser;
  if (browser === undefined) {
    const found = findChromium();
    if (!("path" in found)) throw new Error(`figureToPng: ${found.reason}`);
    browser = found.path;
  }
  const { width, height } = pngSize(fig, opts);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "samfeat-png-"));
  try {
    const page = path.join(dir, "figure.html");
    fs.writeFileSync(page, renderPage(fig, width, height));
    const { dom, stderr, code } = await dumpDom(page, { ...opts, browser });
    const result = /<pre id="result">([^<]*)<\/pre>/.exec(dom)?.[1] ?? "";
    const prefix = "data:image/png;base64,";
    if (!result.startsWith(prefix)) {
      const why = result && result !== "pending" ? result : lastLine(stderr) || `exit code ${code}`;
      throw new Error(`figureToPng: ${browser} did not render the figure (${why})`);
    }
    const truecolour = Buffer.from(result.slice(prefix.length), "base64");
    return new Uint8Array(await sharp(truecolour).png({ palette: true, quality: 100, compressionLevel: 9, effort: 10 }).toBuffer());
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Load an HTML file in headless Chromium and return the DOM as it stands once the virtual-time
 * budget (30 s of page time, usually far less of real time) has let its scripts run. A fresh
 * profile per call; the browser is gone when this returns.
 */
export async function dumpDom(file: string, opts: { browser: string; timeoutMs?: number }): Promise<{ dom: string; stderr: string; code: number | null }> {
  const { timeoutMs } = { ...DEFAULTS, ...opts };
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "samfeat-chromium-"));
  try {
    const args = [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, pathToFileURL(path.resolve(file)).href];
    const { stdout, stderr, code } = await run(opts.browser, args, timeoutMs);
    return { dom: stdout, stderr, code };
  } finally {
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

function renderPage(fig: Figure, width: number, height: number): string {
  const plotly = pathToFileURL(require.resolve("plotly.js-dist")).href;
  const figure = jsonForScript({ data: fig.data, layout: fig.layout, config: { ...fig.config, staticPlot: true } });
  return `<!doctype html>
<html><head><meta charset="utf-8"><script src="${plotly}"></script></head>
<body><pre id="result">pending</pre><script>
const fig = ${figure};
const out = document.getElementById("result");
Promise.resolve()
  .then(() => Plotly.toImage(fig, { format: "png", width: ${width}, height: ${height} }))
  .then((url) => { out.textContent = url; })
  .catch((e) => { out.textContent = "error: " + (e && e.message ? e.message : String(e)); });
</script></body></html>
`;
}

/** JSON safe to paste inside a <script> element. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

function lastLine(text: string): string {
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l.length > 0);
  return lines[lines.length - 1] ?? "";
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    // Own process group, so a timeout takes the renderer and zygote processes down too.
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-(child.pid as number), "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${cmd}: ${e.message}`));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      const stderr = Buffer.concat(err).toString("utf8") + (timedOut ? `\ntimed out after ${timeoutMs} ms` : "");
      resolve({ stdout: Buffer.concat(out).toString("utf8"), stderr, code });
    });
  });
}
