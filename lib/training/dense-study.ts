// The dense DesDis variant as the workbook shows it (the workbench's extension; lib/losses/
// dense-distillation.ts): the shipped seed-0 baseline network (width 0.5) as a frozen teacher, its
// dense students of width 0.25 (baseline losses + lambda * the DesDis regulariser, 300 steps), and
// the same width-0.25 baseline trained alone for as long, the control that tells distillation from the narrower network.
// Runs are found by resolved config; shown at the default scale only (the quick scale has no
// trained teacher worth distilling).
import * as path from "node:path";
import { resolveConfig, TrainConfig } from "./config";
import { readDistillTeacher } from "./dense-student";
import { trainCommand } from "./ladder";
import { findRun, RunInfo, SeedGroup, seedGroups } from "./runs";
import { SCALE_ROOTS, SCALES } from "./scales";
import { RUN_FILES } from "./trainer";

/** The dense students: width 0.25 (the shipped networks are 0.5), half the ladder's steps (CPU time). */
export const DENSE_STUDENT_SCALE = { width: 0.25, steps: 300 };
export const DENSE_STUDENT_SEEDS = [0, 1];

export interface DenseStudy {
  /** the frozen teacher: the shipped baseline run of seed 0 */
  teacher: SeedGroup;
  /** the width-0.25 baseline trained alone */
  alone: SeedGroup;
  /** its dense students (abs, lambda 1) */
  student: SeedGroup;
}

/**
 * The three groups, each with its finished seeds; throws naming the commands that train what is
 * missing when a group has fewer than 2 seeds.
 */
/** The teacher's run: the ladder's baseline of seed 0 with its weights, from the first root that has it. */
export function denseStudyTeacher(roots: string[] = SCALE_ROOTS.default): RunInfo {
  const run = findRun(resolveConfig("baseline", "human", { ...SCALES.default, seed: 0 }), { roots });
  if (!run?.weights) throw new Error(`the dense study's teacher, the ladder's baseline run of seed 0 with its weights, is missing (${trainCommand("baseline", "human", 0, SCALES.default)})`);
  return run;
}

/** The configs of the dense study with this teacher: per seed, the student and the width-0.25 control. */
export function denseStudyConfigs(teacher: RunInfo, seeds: number[] = DENSE_STUDENT_SEEDS): { student: TrainConfig[]; alone: TrainConfig[] } {
  const distill = { teacher: readDistillTeacher(path.join(teacher.dir, RUN_FILES.final)) };
  return {
    student: seeds.map((seed) => resolveConfig("baseline", "human", { ...DENSE_STUDENT_SCALE, seed, distill })),
    alone: seeds.map((seed) => resolveConfig("baseline", "human", { ...DENSE_STUDENT_SCALE, seed })),
  };
}

export function denseStudyGroups(opts: { roots?: string[]; seeds?: number[] } = {}): DenseStudy {
  const roots = opts.roots ?? SCALE_ROOTS.default;
  const teacherRun = denseStudyTeacher(roots);
  const distill = { teacher: readDistillTeacher(path.join(teacherRun.dir, RUN_FILES.final)) };
  const missing: string[] = [];
  const group = (what: string, distilled: boolean): SeedGroup => {
    const runs: RunInfo[] = [];
    for (const seed of opts.seeds ?? DENSE_STUDENT_SEEDS) {
      const run = findRun(resolveConfig("baseline", "human", { ...DENSE_STUDENT_SCALE, seed, ...(distilled ? { distill } : {}) }), { roots });
      if (run?.finished) runs.push(run);
      else missing.push(`${trainCommand("baseline", "human", seed, DENSE_STUDENT_SCALE)}${distilled ? ` --distill-from ${distill.teacher.file}` : ""}${run ? " --resume" : ""}`);
    }
    if (runs.length < 2) throw new Error(`the dense study's ${what} has ${runs.length} finished seed(s); train them with:\n  ${missing.join("\n  ")}`);
    return seedGroups(runs)[0];
  };
  const study = { teacher: seedGroups([teacherRun])[0], alone: group("width-0.25 baseline", false), student: group("dense student", true) };
  if (missing.length > 0) console.log(`shown without ${missing.length} unfinished run(s); train them with:\n  ${missing.join("\n  ")}`);
  return study;
}
