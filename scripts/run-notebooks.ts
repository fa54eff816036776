// Execute notebooks headless, in name order, stopping each at its first failing
// cell and printing that cell's source and error.
//
//   npx tsx scripts/run-notebooks.ts [--out DIR | --inplace] [--timeout SEC] [NOTEBOOK ...]
//
// NOTEBOOK is a path or a name in notebooks/ ("00-engine" or "00-engine.ipynb");
// none means every notebooks/*.ipynb. --out writes the executed copies to DIR
// (a failed notebook's copy holds the outputs up to the failing cell);
// --inplace replaces the notebooks with their executed versions, only when they
// succeed; neither only checks that they run.
import * as fs from "node:fs";
import * as path from "node:path";
import { executeNotebook, formatFailure, listNotebooks, writeNotebook } from "../lib/notebook/run";
import { outputDir, parseCommandLineWithOperands, positiveFlag, runMain, UsageError } from "../lib/util/cli";
import { projectPath } from "../lib/util/project";

const USAGE = [
  "usage: npm start  |  npx tsx scripts/run-notebooks.ts [--out DIR | --inplace] [--timeout SEC] [NOTEBOOK ...]",
  "  NOTEBOOK        a path or a name in notebooks/ (\"00-engine\" or \"00-engine.ipynb\"); none: every notebook",
  "  --out DIR       write the executed copies to DIR (a failed notebook's copy stops at its failing cell)",
  "  --inplace       replace each notebook with its executed version when it succeeds",
  "  --timeout SEC   per-cell timeout in seconds (default 900)",
].join("\n");
const NOTEBOOKS_DIR = projectPath("notebooks");

interface Args {
  out?: string;
  inplace: boolean;
  timeoutSec: number;
  notebooks: string[];
}

function parseArgs(argv: string[]): Args {
  const { values: v, operands } = parseCommandLineWithOperands(argv, {
    usage: USAGE,
    options: {
      out: { type: "string" },
      inplace: { type: "boolean", default: false },
      timeout: { type: "string" },
    },
  });
  if (v.out !== undefined && v.inplace) throw new UsageError("--out and --inplace exclude each other");
  return {
    out: v.out === undefined ? undefined : outputDir(v.out, "--out"),
    inplace: v.inplace,
    timeoutSec: positiveFlag(v.timeout, "--timeout") ?? 900,
    // Resolved here, so a misspelt name fails before any notebook runs.
    notebooks: operands.map(resolveNotebook),
  };
}

function resolveNotebook(arg: string): string {
  const candidates = [arg, path.join(NOTEBOOKS_DIR, arg), path.join(NOTEBOOKS_DIR, `${arg}.ipynb`)];
  const found = candidates.find((f) => f.endsWith(".ipynb") && fs.existsSync(f) && fs.statSync(f).isFile());
  if (!found) throw new UsageError(`${arg}: no such notebook (looked in ${path.relative(process.cwd(), NOTEBOOKS_DIR) || "."})`);
  return path.resolve(found);
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const files = args.notebooks.length ? args.notebooks : listNotebooks(NOTEBOOKS_DIR);
  if (files.length === 0) throw new UsageError(`no notebooks in ${NOTEBOOKS_DIR}`);
  const failed: string[] = [];
  for (const file of files) {
    const name = path.basename(file);
    console.log(`notebook: ${name} ...`);
    const run = await executeNotebook(file, { timeoutSec: args.timeoutSec });
    let written = "";
    if (run.notebookJson && (args.out !== undefined || (args.inplace && run.ok))) {
      const target = args.out !== undefined ? path.resolve(args.out, name) : file;
      writeNotebook(target, run.notebookJson);
      written = ` -> ${path.relative(process.cwd(), target)}`;
    }
    if (run.ok) {
      console.log(`notebook: ${name} ok in ${run.seconds.toFixed(1)} s${written}`);
    } else {
      failed.push(name);
      console.error(formatFailure(run));
      console.error(`notebook: ${name} FAILED after ${run.seconds.toFixed(1)} s${written && `${written} (partial)`}`);
    }
  }
  if (failed.length) {
    console.error(`error: ${failed.length} of ${files.length} notebooks failed: ${failed.join(", ")}`);
    return 1;
  }
  return 0;
}

runMain(main);
