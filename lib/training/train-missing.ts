// Train the runs of a list of configs that are not finished, as `npm run reproduce` and the quick
// workbook scale both need: each config's run is looked up by resolved config (a finished one is
// skipped, an unfinished one resumes from its last checkpoint, a missing one starts in `out`), the
// teacher outputs and labels of each teacher and image folder are prepared once, and one progress
// bar counts every step still to train.
import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT_ROOT } from "../util/project";
import { progressBar } from "../util/progress";
import { defaultRunName, TrainConfig } from "./config";
import { prepareRunData, RunData } from "./prepare";
import { findRun, RunInfo } from "./runs";
import { splitImages } from "./sources";
import { RUN_FILES, train } from "./trainer";

export interface TrainMissingOptions {
  /** Where missing runs start. */
  out: string;
  /** Where existing runs are looked up (default [out]). */
  roots?: string[];
  cacheRoot?: string;
  /** The progress bar's label. */
  label: string;
  quiet?: boolean;
  /** Asked after every step; true saves a checkpoint and returns "interrupted". */
  shouldStop?: () => boolean;
}

export interface TrainMissingResult {
  status: "finished" | "interrupted";
  /** runs trained (or resumed) by this call */
  trained: number;
  /** the run being trained when interrupted */
  interruptedIn?: string;
  /** runs and steps that were left to train when the call began */
  todo: number;
  steps: number;
}

/** The configs whose runs are not finished in `roots`, each with its run (when started) and the steps left. */
export function missingRuns(configs: TrainConfig[], roots: string[]): { config: TrainConfig; existing?: RunInfo; left: number }[] {
  return configs
    .map((config) => {
      const existing = findRun(config, { roots });
      const done = existing ? existing.train.reduce((m, r) => Math.max(m, r.step), 0) : 0;
      return { config, existing, left: config.steps - done };
    })
    .filter(({ existing }) => !existing?.finished);
}

export async function trainMissing(configs: TrainConfig[], opts: TrainMissingOptions): Promise<TrainMissingResult> {
  const todo = missingRuns(configs, opts.roots ?? [opts.out]);
  const steps = todo.reduce((s, t) => s + t.left, 0);
  if (todo.length === 0) return { status: "finished", trained: 0, todo: 0, steps: 0 };
  const data = new Map<string, RunData>();
  const bar = progressBar(opts.label, steps, { quiet: opts.quiet });
  let trained = 0;
  try {
    for (const [i, { config, existing }] of todo.entries()) {
      const key = `${config.teacher}|${config.data.images}|${config.data.size}`;
      if (!data.has(key)) data.set(key, await prepareRunData(config, splitImages(path.resolve(PROJECT_ROOT, config.data.images)), { cacheRoot: opts.cacheRoot, quiet: opts.quiet }));
      const dir = existing?.dir ?? path.join(opts.out, defaultRunName(config));
      const name = path.basename(dir);
      const result = await train(config, dir, data.get(key)!, {
        resume: fs.existsSync(path.join(dir, RUN_FILES.config)),
        quiet: true,
        shouldStop: opts.shouldStop,
        onRecord: (r) => {
          if (r.type === "train") bar.tick(1, `run ${i + 1}/${todo.length} ${name} step ${r.step}`);
        },
      });
      trained++;
      if (result.status === "interrupted") return { status: "interrupted", trained, interruptedIn: name, todo: todo.length, steps };
    }
  } finally {
    bar.stop();
  }
  return { status: "finished", trained, todo: todo.length, steps };
}
