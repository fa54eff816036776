// A notebook as one HTML page that draws its figures anywhere: nbconvert's HTML export, plus the
// plotly library, which saved notebooks do not carry (see lib/plots/display.ts). Without it the
// page still shows every figure's PNG.
import { spawn } from "node:child_process";
import * as path from "node:path";
import { writeFileAtomicSync } from "../util/atomic";
import { FIGURE_CLASS, withPlotlyLibrary } from "../plots/html";

export interface ExportHtmlOptions {
  /** Output file; default the notebook's path with .html. */
  out?: string;
  /** Interpreter with nbconvert; default env JUPYTER_PYTHON, else Debian's /usr/bin/python3. */
  python?: string;
  timeoutMs?: number;
}

/** Export `notebook` (an executed .ipynb) to HTML; returns the file written and how many figures it shows. */
export async function exportNotebookHtml(notebook: string, opts: ExportHtmlOptions = {}): Promise<{ file: string; figures: number }> {
  const python = opts.python ?? process.env.JUPYTER_PYTHON ?? "/usr/bin/python3";
  const page = await nbconvertHtml(python, notebook, opts.timeoutMs ?? 120_000);
  const file = opts.out ?? notebook.replace(/\.ipynb$/, "") + ".html";
  writeFileAtomicSync(file, withPlotlyLibrary(page));
  return { file, figures: page.split(`class="${FIGURE_CLASS}"`).length - 1 };
}

function nbconvertHtml(python: string, notebook: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const args = ["-m", "nbconvert", "--to", "html", "--stdout", path.resolve(notebook)];
    const child = spawn(python, args, { stdio: ["ignore", "pipe", "pipe"], timeout: timeoutMs });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", (e) => reject(new Error(`exportNotebookHtml: cannot start ${python}: ${e.message}`)));
    child.on("close", (code, signal) => {
      if (code === 0) return resolve(Buffer.concat(out).toString("utf8"));
      const why = Buffer.concat(err).toString("utf8").trim().split("\n").pop() || `exit code ${code}${signal ? `, ${signal}` : ""}`;
      reject(new Error(`exportNotebookHtml: nbconvert failed on ${notebook} (${why})`));
    });
  });
}
