// What the notebooks call to get the runs they show. At the default scale the finished runs are found
// by resolved config (shipped in data/runs, or the user's own in outputs/runs) and never retrained. At
// the quick scale (SAMFEAT_SCALE=quick: tests, a class) the missing tiny runs are trained on the spot
// into outputs/runs-quick and evaluated, so every notebook runs end to end in minutes.
import * as path from "node:path";
import { keptOrEvaluated, runSummaryFile } from "./results";
import { ladderGroups, LadderOptions } from "./ladder";
import { resolveConfig, RowName, TeacherName, defaultRunName } from "./config";
import { findRun, RunInfo, SeedGroup } from "./runs";
import { prepareRunData, RunData } from "./prepare";
import { splitImages } from "./sources";
import { RUN_FILES, train } from "./trainer";
import { SCALE_ROOTS, SCALE_SEEDS, SCALE_TEST_SETS, SCALES, ScaleName, workbookScale } from "./scales";
import { initEngine } from "../engine/index";
import { projectPath } from "../util/project";
import { progressBar } from "../util/progress";

/** The scale's ladder options: where runs live, their seeds and their config overrides. */
export function scaleLadderOptions(scale: ScaleName, seeds?: number[]): LadderOptions {
  return { roots: SCALE_ROOTS[scale], seeds: seeds ?? SCALE_SEEDS[scale], overrides: SCALES[scale] };
}

/** The test sets of the current scale, relative to the project root. */
export function workbookTestSets(scale: ScaleName = workbookScale()): string[] {
  return SCALE_TEST_SETS[scale];
}

/** Trains the quick runs of `rows` x `seeds` that are not finished (resuming unfinished ones). */
async function trainQuickRuns(rows: RowName[], teacher: TeacherName, seeds: number[]): Promise<void> {
  const root = SCALE_ROOTS.quick[0];
  // Each wanted config with the run already there for it, if any (listing the runs reads every folder).
  const todo = rows
    .flatMap((row) => seeds.map((seed) => resolveConfig(row, teacher, { ...SCALES.quick, seed })))
    .map((config) => ({ config, existing: findRun(config, { roots: [root] }) }))
    .filter(({ existing }) => !existing?.finished);
  if (todo.length === 0) return;
  const split = splitImages(projectPath(todo[0].config.data.images));
  let data: RunData | undefined;
  const bar = progressBar(`quick scale: training ${todo.length} tiny runs`, todo.reduce((s, t) => s + t.config.steps, 0));
  try {
    for (const { config, existing } of todo) {
      data ??= await prepareRunData(config, split, { quiet: true });
      const dir = path.join(root, defaultRunName(config));
      await train(config, dir, data, { resume: existing !== undefined, quiet: true, onRecord: (r) => r.type === "train" && bar.tick(1, `${config.row} seed ${config.seed}`) });
    }
  } finally {
    bar.stop();
  }
}

/** Evaluates each run (once: the summary is kept in its folder) on the scale's test sets. */
async function evaluateRuns(runs: RunInfo[], testSets: string[]): Promise<void> {
  for (const run of runs) {
    for (const set of testSets) {
      const dataset = projectPath(set);
      await keptOrEvaluated(runSummaryFile(run.dir, dataset), path.join(run.dir, RUN_FILES.final), dataset, { quiet: true, label: `${run.name}/${RUN_FILES.final}` });
    }
  }
}

/**
 * One seed group per row for `teacher` at the workbook's scale (SAMFEAT_SCALE). Default: the
 * finished runs, or an error naming the commands that train the missing ones. Quick: missing runs
 * are trained and evaluated first.
 */
export async function workbookLadder(rows: RowName[], teacher: TeacherName, opts: { seeds?: number[] } = {}): Promise<SeedGroup[]> {
  const scale = workbookScale();
  const ladder = scaleLadderOptions(scale, opts.seeds);
  // Training, evaluation and the notebooks' views of trained networks all run on the engine.
  await initEngine({ quiet: true });
  if (scale === "quick") {
    await trainQuickRuns(rows, teacher, ladder.seeds!);
    const groups = ladderGroups(rows, teacher, ladder);
    await evaluateRuns(groups.flatMap((g) => g.runs), SCALE_TEST_SETS.quick);
    return groups;
  }
  // A row is shown with at least 2 finished seeds (a spread exists); missing ones are named.
  return ladderGroups(rows, teacher, { ...ladder, minSeeds: 2 });
}
