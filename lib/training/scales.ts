// The two scales of the workbook. `default` is the CPU scale of the shipped runs (TRAIN_DEFAULTS,
// chosen in the README's training section). `quick` trains tiny runs in seconds, for tests and for a
// class that wants to see training happen; its numbers mean nothing about the method.
import type { ConfigOverrides } from "./config";

export const SCALE_NAMES = ["default", "quick"] as const;
export type ScaleName = (typeof SCALE_NAMES)[number];

export const SCALES: Record<ScaleName, Omit<ConfigOverrides, "seed">> = {
  default: {},
  quick: { steps: 12, width: 0.25, size: 48, batch: 2, validateEvery: 6, validationPairs: 2 },
};

/** The scale named by SAMFEAT_SCALE (default "default"); an unknown name is an error naming the variable. */
export function workbookScale(env: NodeJS.ProcessEnv = process.env): ScaleName {
  const name = env.SAMFEAT_SCALE?.trim() || "default";
  if (!(SCALE_NAMES as readonly string[]).includes(name)) throw new Error(`SAMFEAT_SCALE=${name}: expected one of ${SCALE_NAMES.join(", ")}`);
  return name as ScaleName;
}
