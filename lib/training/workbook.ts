// What the notebooks call to get the runs they show. At the default scale the finished runs are found
// by resolved config (shipped in data/runs, or the user's own in outputs/runs) and never retrained. At
// the quick scale (SAMFEAT_SCALE=quick: tests, a class) the missing tiny runs are trained on the spot
// into outputs/runs-quick and evaluated, so every notebook runs end to end in minutes.
import * as path from "node:path";
import { keptOrEvaluated, runSummaryFile } from "./results";
import { ladderGroups, LadderOptions } from "./ladder";
import { resolveConfig, RowName, TeacherName } from "./config";
import { RunInfo, SeedGroup } from "./runs";
import { RUN_FILES } from "./trainer";
import { trainMissing } from "./train-missing";
import { SCALE_ROOTS, SCALE_TEST_SETS, SCALES, ScaleName, scaleSeeds, TRAINING_DEFAULT, TRAINING_DEFAULT_ROWS, workbookScale } from "./scales";
import { initEngine } from "../engine/index";
import { SAM_DECODER_FILE, SAM_ENCODER_FILE, SAM_MODEL_DIR, samFilesPresent } from "../teachers/sam-files";
import { projectPath } from "../util/project";

/** The scale's ladder options for `teacher`: where runs live, their seeds and their config overrides. */
export function scaleLadderOptions(scale: ScaleName, teacher: TeacherName, seeds?: number[]): LadderOptions {
  return { roots: SCALE_ROOTS[scale], seeds: seeds ?? scaleSeeds(scale, teacher), overrides: SCALES[scale] };
}

/** The test sets of the current scale, relative to the project root. */
export function workbookTestSets(scale: ScaleName = workbookScale()): string[] {
  return SCALE_TEST_SETS[scale];
}

/** Trains the quick runs of `rows` x `seeds` that are not finished (resuming unfinished ones). */
async function trainQuickRuns(rows: RowName[], teacher: TeacherName, seeds: number[]): Promise<void> {
  const configs = rows.flatMap((row) => seeds.map((seed) => resolveConfig(row, teacher, { ...SCALES.quick, seed })));
  await trainMissing(configs, { out: SCALE_ROOTS.quick[0], label: "quick scale: training tiny runs" });
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
export async function workbookLadder(rows: RowName[], teacher: TeacherName, opts: { seeds?: number[]; trainingDefault?: boolean } = {}): Promise<SeedGroup[]> {
  const scale = workbookScale();
  const ladder = { ...scaleLadderOptions(scale, teacher, opts.seeds), ...(opts.trainingDefault ? { overrides: TRAINING_DEFAULT[scale] } : {}) };
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

/**
 * Baseline and full with the human teacher at the training default (TRAIN_DEFAULTS, longer than the
 * ladder), where the workbook shows how that scale was chosen. Quick: the quick runs.
 */
export function workbookTrainingDefault(): Promise<SeedGroup[]> {
  return workbookLadder([...TRAINING_DEFAULT_ROWS], "human", { trainingDefault: true });
}

/** One teacher's ladder: a seed group per row, rows in the same order for every teacher. */
export interface TeacherLadder {
  teacher: TeacherName;
  groups: SeedGroup[];
}

/**
 * The ladder of `rows` with each teacher at the workbook's scale: human and classical always (an error
 * names the commands of missing runs; quick trains them), SAM only where it can exist: its finished
 * runs at the default scale, its ONNX files at the quick scale. Why SAM is left out is printed.
 */
export async function workbookTeacherLadders(rows: RowName[]): Promise<TeacherLadder[]> {
  const ladders: TeacherLadder[] = [];
  for (const teacher of ["human", "classical"] as const) ladders.push({ teacher, groups: await workbookLadder(rows, teacher) });
  const scale = workbookScale();
  const samFiles = samFilesPresent();
  if (scale === "quick") {
    if (samFiles) ladders.push({ teacher: "sam", groups: await workbookLadder(rows, "sam") });
    else console.log(`sam teacher: left out (no ${SAM_ENCODER_FILE} and ${SAM_DECODER_FILE} in ${path.relative(process.cwd(), SAM_MODEL_DIR)}; see the README on plugging in SAM)`);
    return ladders;
  }
  try {
    ladders.push({ teacher: "sam", groups: ladderGroups(rows, "sam", { ...scaleLadderOptions(scale, "sam"), minSeeds: 2 }) });
  } catch (e) {
    const why = samFiles ? (e as Error).message : `its ONNX files are not in ${path.relative(process.cwd(), SAM_MODEL_DIR)} (see the README on plugging in SAM) and no SAM runs were found`;
    console.log(`sam teacher: left out; ${why}`);
  }
  return ladders;
}
