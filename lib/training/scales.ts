// The two scales of the workbook. `default` is the CPU scale of the shipped runs (TRAIN_DEFAULTS,
// chosen in the README's training section). `quick` trains tiny runs in seconds, for tests and for a
// class that wants to see training happen; its numbers mean nothing about the method.
import { projectPath } from "../util/project";
import type { ConfigOverrides, TeacherName } from "./config";

export const SCALE_NAMES = ["default", "quick"] as const;
export type ScaleName = (typeof SCALE_NAMES)[number];

export const SCALES: Record<ScaleName, Omit<ConfigOverrides, "seed">> = {
  default: {},
  // The 100 BSDS500 val/ images (every 10th held back in a plain folder): the human teacher has their
  // annotations, and labels and teacher outputs for 100 images are computed in about two minutes.
  quick: { steps: 12, width: 0.25, size: 48, batch: 2, validateEvery: 6, validationPairs: 2, images: "data/bsds500/images/val" },
};

/** Where each scale's runs are looked for (first match wins) and, for quick, trained. */
export const SCALE_ROOTS: Record<ScaleName, string[]> = {
  default: [projectPath("outputs", "runs"), projectPath("data", "runs")],
  quick: [projectPath("outputs", "runs-quick")],
};

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
