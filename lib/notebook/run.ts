// Headless notebook execution: nbclient (Debian's python3-nbclient) drives the
// project's tslab kernel spec (jupyter/kernels/tslab), one notebook at a time,
// stopping at the first failing cell. tslab reports a failing cell on that
// cell's stderr and leaves nbclient's error text empty, so the failure we
// report is the cell's source plus its own stderr and error outputs. Errors are
// never allowed to pass: after a failing cell tslab drops the requests queued in
// the next 200 ms, so later cells would come back empty rather than failing.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { writeFileAtomicSync } from "../util/atomic";
import { PROJECT_ROOT } from "../util/project";

export { PROJECT_ROOT }; // for the notebook tests, which import it from here
const DRIVER = path.join(PROJECT_ROOT, "lib", "notebook", "execute_notebook.py");
// Debian's interpreter, which has the jupyter packages; a python3 earlier on PATH may not.
const DEFAULT_PYTHON = "/usr/bin/python3";

export interface ExecuteOptions {
  /** Limit for the whole notebook, kernel start excluded (seconds). */
  timeoutSec?: number;
  /** Interpreter with nbclient; default env JUPYTER_PYTHON, else /usr/bin/python3. */
  python?: string;
  /** Extra environment for the kernel, e.g. { SAMFEAT_SCALE: "quick" }. */
  env?: Record<string, string>;
}

const DEFAULTS = { timeoutSec: 900 };

export interface CellFailure {
  /** Index among all cells (markdown included), 0-based. */
  index: number;
  source: string;
  /** The cell's stderr and error outputs; nbclient's text when the cell has none. */
  error: string;
}

export interface NotebookRun {
  file: string;
  ok: boolean;
  seconds: number;
  /** The executed notebook as nbformat writes it (absent when the kernel never started). */
  notebookJson?: string;
  failure?: CellFailure;
  /** Why the run failed outside any cell (no kernel, no jupyter, killed). */
  error?: string;
}

/** The parts of nbformat's cells and outputs that the runner and its tests read. */
export interface NbOutput {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
  traceback?: string[];
}
export interface NbCell {
  cell_type: string;
  source: string | string[];
  outputs?: NbOutput[];
}

/** nbformat stores multi-line strings as lists of lines. */
export const joinText = (t: unknown): string => (Array.isArray(t) ? t.join("") : t === undefined || t === null ? "" : String(t));

/** The cells of a notebook given as nbformat JSON text. */
export const notebookCells = (notebookJson: string): NbCell[] => (JSON.parse(notebookJson) as { cells: NbCell[] }).cells;
const stripAnsi = (t: string) => t.replace(/\u001b\[[0-9;]*[A-Za-z]/g, "");

/** The notebooks in `dir` (*.ipynb), in name order. */
export function listNotebooks(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".ipynb"))
    .sort()
    .map((f) => path.join(dir, f));
}

/**
 * Execute `file` headless with its kernel working directory set to the
 * notebook's own folder (so `./lib/...` imports resolve); the file itself is
 * never modified. Resolves with the executed notebook and, on failure, the
 * failing cell.
 */
export async function executeNotebook(file: string, opts: ExecuteOptions = {}): Promise<NotebookRun> {
  const { timeoutSec } = { ...DEFAULTS, ...opts };
  const python = opts.python ?? process.env.JUPYTER_PYTHON ?? DEFAULT_PYTHON;
  const source = path.resolve(file);
  if (!fs.existsSync(source)) throw new Error(`${file}: no such notebook`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "samfeat-nb-"));
  const resultFile = path.join(tmp, "result.json");
  const started = Date.now();
  try {
    const env = {
      ...process.env,
      JUPYTER_PATH: [path.join(PROJECT_ROOT, "jupyter"), process.env.JUPYTER_PATH].filter(Boolean).join(path.delimiter),
      JUPYTER_PLATFORM_DIRS: "1",
      ...opts.env,
    };
    const args = [DRIVER, source, resultFile, path.dirname(source), String(timeoutSec)];
    // Backstop beyond the driver's own deadline: kernel start-up and shutdown.
    const proc = await run(python, args, env, (timeoutSec + 120) * 1000);
    const seconds = (Date.now() - started) / 1000;
    if (!fs.existsSync(resultFile)) {
      const why = proc.timedOut ? `killed after ${timeoutSec + 120} s` : `exit code ${proc.code}`;
      return { file, ok: false, seconds, error: `${python} ${path.basename(DRIVER)} failed (${why}): ${tail(proc.stderr, 20)}` };
    }
    const result = JSON.parse(fs.readFileSync(resultFile, "utf8")) as { notebook: string | null; failed_cell: number | null; error: string };
    if (result.notebook === null) return { file, ok: false, seconds, error: result.error };
    const notebookJson = result.notebook;
    if (result.failed_cell === null) return { file, ok: true, seconds, notebookJson };
    const cell = notebookCells(notebookJson)[result.failed_cell];
    return { file, ok: false, seconds, notebookJson, failure: cellFailure(result.failed_cell, cell, result.error) };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function cellFailure(index: number, cell: NbCell, clientError: string): CellFailure {
  const parts: string[] = [];
  for (const out of cell.outputs ?? []) {
    if (out.output_type === "stream" && out.name === "stderr") parts.push(joinText(out.text));
    if (out.output_type === "error") {
      parts.push(out.traceback?.length ? out.traceback.join("\n") : `${out.ename}: ${out.evalue}`);
    }
  }
  let error = stripAnsi(parts.join("\n")).trim();
  // A timeout is the driver's finding; the cell's own stderr then only shows the interrupt.
  if (clientError.startsWith("notebook timeout")) error = `${clientError}\n${error}`.trim();
  if (!error) error = stripAnsi(clientError).trim() || "the cell failed without any error output";
  return { index, source: joinText(cell.source), error };
}

/** A multi-line report naming the notebook, the failing cell, its source and its error. */
export function formatFailure(r: NotebookRun): string {
  const name = path.relative(process.cwd(), path.resolve(r.file));
  if (!r.failure) return `${name}: ${r.error ?? "failed"}`;
  const indent = (t: string) => t.replace(/\n$/, "").split("\n").map((l) => `    ${l}`).join("\n");
  return [
    `${name}: cell ${r.failure.index + 1} failed`,
    "  source:",
    indent(r.failure.source),
    "  error:",
    indent(r.failure.error),
  ].join("\n");
}

/** Write an executed notebook atomically (the text is nbformat's own serialisation). */
export function writeNotebook(file: string, notebookJson: string): void {
  writeFileAtomicSync(file, notebookJson.endsWith("\n") ? notebookJson : notebookJson + "\n");
}

function tail(text: string, lines: number): string {
  return text.trim().split("\n").slice(-lines).join("\n");
}

function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  killAfterMs: number,
): Promise<{ code: number | null; stderr: string; timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ["ignore", "ignore", "pipe"] });
    const err: Buffer[] = [];
    child.stderr.on("data", (b: Buffer) => err.push(b));
    let timedOut = false;
    // SIGTERM first: the driver then shuts its kernel down; SIGKILL if it does not exit.
    const term = setTimeout(() => {
      timedOut = true;
      child.kill("SIGTERM");
      setTimeout(() => child.kill("SIGKILL"), 15_000).unref();
    }, killAfterMs);
    child.on("error", (e) => {
      clearTimeout(term);
      reject(new Error(`cannot start ${cmd}: ${e.message} (install jupyter with scripts/setup.sh)`));
    });
    child.on("close", (code) => {
      clearTimeout(term);
      resolve({ code, stderr: Buffer.concat(err).toString("utf8"), timedOut });
    });
  });
}
