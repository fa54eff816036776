// The two scales of the workbook. `default` is the scale of the shipped ablation ladder: the CPU
// training default (TRAIN_DEFAULTS) cut to LADDER_STEPS, so that the ladder with two teachers (20 runs)
// trains in under 4 hours; the training default itself is shown for baseline and full beside it.
// `quick` trains tiny runs in seconds, for tests and for a class that wants to see training happen;
// its numbers mean nothing about the method.
import { projectPath } from "../util/project";
import { ConfigOverrides, resolveConfig, RowName, TeacherName, TrainConfig } from "./config";

export const SCALE_NAMES = ["default", "quick"] as const;
export type ScaleName = (typeof SCALE_NAMES)[number];

/** Steps of the shipped ladder's runs (the training default is TRAIN_DEFAULTS.steps). */
export const LADDER_STEPS = 600;

export const SCALES: Record<ScaleName, Omit<ConfigOverrides, "seed">> = {
  default: { steps: LADDER_STEPS },
  // The 100 BSDS500 val/ images (every 10th held back in a plain folder): the human teacher has their
  // annotations, and labels and teacher outputs for 100 images are computed in about two minutes.
  quick: { steps: 12, width: 0.25, size: 48, batch: 2, validateEvery: 6, validationPairs: 2, images: "data/bsds500/images/val" },
};

/** Where each scale's runs are looked for (first match wins) and, for quick, trained. */
export const SCALE_ROOTS: Record<ScaleName, string[]> = {
  default: [projectPath("outputs", "runs"), projectPath("data", "runs")],
  quick: [projectPath("outputs", "runs-quick")],
};

/**
 * Where the workbook shows the training default (TRAIN_DEFAULTS: baseline and full with the human
 * teacher). At the quick scale there is nothing longer to show, so it is the quick runs again.
 */
export const TRAINING_DEFAULT: Record<ScaleName, Omit<ConfigOverrides, "seed">> = {
  default: {},
  quick: SCALES.quick,
};

/** Rows trained at the training default beside the ladder: the two ends of the ladder. */
export const TRAINING_DEFAULT_ROWS = ["baseline", "full"] as const;

/** Seeds of the human teacher's ladder at each scale, and of every other teacher's (2: a spread exists). */
export const SCALE_SEEDS: Record<ScaleName, { human: number[]; other: number[] }> = {
  default: { human: [0, 1, 2], other: [0, 1] },
  quick: { human: [0, 1], other: [0, 1] },
};

/** The seeds of `teacher`'s ladder at `scale`. */
export function scaleSeeds(scale: ScaleName, teacher: TeacherName): number[] {
  return teacher === "human" ? SCALE_SEEDS[scale].human : SCALE_SEEDS[scale].other;
}

/** The test sets each scale evaluates on (quick: the smaller one only). */
export const SCALE_TEST_SETS: Record<ScaleName, string[]> = {
  default: ["data/synthetic-hpatches", "data/hpatches-sample"],
  quick: ["data/hpatches-sample"],
};

/** The scale named by SAMFEAT_SCALE (default "default"); an unknown name is an error naming the variable. */
export function workbookScale(env: NodeJS.ProcessEnv = process.env): ScaleName {
  const name = env.SAMFEAT_SCALE?.trim() || "default";
  if (!(SCALE_NAMES as readonly string[]).includes(name)) throw new Error(`SAMFEAT_SCALE=${name}: expected one of ${SCALE_NAMES.join(", ")}`);
  return name as ScaleName;
}

/**
 * Every run of a scale's study: each row with each teacher (the human teacher's seeds, the others'),
 * and at the default scale the training default's rows with the human teacher beside the ladder.
 */
export function scaleGrid(
  scale: ScaleName,
  o: { teachers: TeacherName[]; rows: RowName[]; humanSeeds: number[]; otherSeeds: number[]; images?: string },
): TrainConfig[] {
  const images = o.images ? { images: o.images } : {};
  const grid: TrainConfig[] = [];
  for (const teacher of o.teachers) {
    for (const seed of teacher === "human" ? o.humanSeeds : o.otherSeeds) {
      for (const row of o.rows) grid.push(resolveConfig(row, teacher, { ...SCALES[scale], ...images, seed }));
    }
  }
  // At the quick scale the training default is the ladder itself.
  if (scale === "default" && o.teachers.includes("human")) {
    for (const seed of o.humanSeeds) {
      for (const row of TRAINING_DEFAULT_ROWS) if (o.rows.includes(row)) grid.push(resolveConfig(row, "human", { ...TRAINING_DEFAULT.default, ...images, seed }));
    }
  }
  return grid;
}
