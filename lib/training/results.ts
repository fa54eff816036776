// The evaluation summaries `npm run eval-runs` keeps: one per run and test set in the run folder
// (<run>/eval/<dataset>[-threshold<P>].json) and one per classical baseline and test set in a
// baselines folder (outputs/baselines, or data/runs/baselines for the shipped results).
import * as fs from "node:fs";
import * as path from "node:path";
import { evaluateDataset } from "../eval/evaluate";
import type { EvalSummary } from "../eval/metrics";
import { createExtractor } from "../eval/methods";
import { writeJsonAtomicSync } from "../util/atomic";
import { projectPath } from "../util/project";
import type { RunInfo, SeedGroup } from "./runs";

export const BASELINE_DIRS = [projectPath("outputs", "baselines"), projectPath("data", "runs", "baselines")];

/** A test set's name as summary files use it: its folder's name. */
export const datasetName = (dataset: string) => path.basename(path.resolve(dataset));

/** The file eval-runs keeps a run's summary on `dataset` in. */
export function runSummaryFile(runDir: string, dataset: string, threshold?: number): string {
  return path.join(runDir, "eval", `${datasetName(dataset)}${threshold === undefined ? "" : `-threshold${threshold}`}.json`);
}

/** The file eval-runs keeps a baseline's summary on `dataset` in, under `dir`. */
export function baselineSummaryFile(dir: string, method: string, dataset: string): string {
  return path.join(dir, `${method}-${datasetName(dataset)}.json`);
}

/** A kept summary, or undefined when the file does not exist. */
export function readSummary(file: string): EvalSummary | undefined {
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as EvalSummary) : undefined;
}

/** A run's kept summary on `dataset`, or undefined when it was not evaluated. */
export function runSummary(run: RunInfo, dataset: string, threshold?: number): EvalSummary | undefined {
  return readSummary(runSummaryFile(run.dir, dataset, threshold));
}

/** The kept summaries of a seed group's runs on `dataset`; throws naming the runs never evaluated. */
export function groupSummaries(group: SeedGroup, dataset: string, threshold?: number): EvalSummary[] {
  const found = group.runs.map((r) => runSummary(r, dataset, threshold));
  const missing = group.runs.filter((_, i) => found[i] === undefined).map((r) => r.name);
  if (missing.length > 0) throw new Error(`not evaluated on ${datasetName(dataset)}: ${missing.join(", ")} (run npm run eval-runs)`);
  return found as EvalSummary[];
}

/** A classical baseline's kept summary on `dataset` (outputs/baselines first, then the shipped one). */
export function baselineSummary(method: string, dataset: string, dirs: string[] = BASELINE_DIRS): EvalSummary {
  for (const dir of dirs) {
    const s = readSummary(baselineSummaryFile(dir, method, dataset));
    if (s) return s;
  }
  throw new Error(`no ${method} summary on ${datasetName(dataset)} in ${dirs.map((d) => path.relative(projectPath(), d)).join(" or ")} (run npm run eval-runs)`);
}

/**
 * The summary kept in `file`, or `method` evaluated on `dataset` now and kept there (atomically).
 * The kept summary is named by `label` (a run's folder name, not a machine path).
 */
export async function keptOrEvaluated(file: string, method: string, dataset: string, opts: { quiet?: boolean; threshold?: number; label?: string } = {}): Promise<EvalSummary> {
  const kept = readSummary(file);
  if (kept) return kept;
  const extractor = await createExtractor(method, opts.threshold === undefined ? {} : { threshold: opts.threshold });
  try {
    const summary = { ...(await evaluateDataset(dataset, extractor, { quiet: opts.quiet })).summary, method: opts.label ?? method, dataset: path.relative(projectPath(), path.resolve(dataset)) };
    writeJsonAtomicSync(file, summary);
    return summary;
  } finally {
    extractor.dispose?.();
  }
}
