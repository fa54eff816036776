// The DesDis study as a grid of runs (method.md B; lib/desdis/README.md "The study"):
//   teacher        the L2-Net network trained alone with one triplet loss (hardnet | sosnet | hynet)
//   equal          a student of the same architecture, distilled from that teacher (same loss, same seed)
//   light          a DesDis-d student distilled from that teacher
//   light-alone    DesDis-d trained alone with the same loss: what the light network reaches without a
//                  teacher, so a light student's gain can be told from its architecture
// with the default regulariser (abs, lambda 1) fixed before any result was seen; then a sweep of
// the regulariser's form and lambda (one factor at a time) over light students of one teacher loss.
// Every network sees the same 128 pairs x 100 steps (config.ts), so no student wins by seeing more data.
// Runs are found by their resolved config (the run folder name carries its hash), in the output
// folder first and then among the shipped runs; a finished run is never trained again.
import * as fs from "node:fs";
import * as path from "node:path";
import type { RegularizerForm } from "../losses/teacher-student";
import { loadPatchCheckpoint } from "../models/patch-checkpoint";
import { writeFileAtomicSync } from "../util/atomic";
import { fileSha256 } from "../util/file-hash";
import { ScaleName, SCALE_TEST_SETS } from "../training/scales";
import { progressBar } from "../util/progress";
import { projectPath, projectRelative, PROJECT_ROOT } from "../util/project";
import { DistillConfig, DISTILL_DEFAULTS, distillRunName, resolveDistillConfig, TRIPLET_LOSSES, TripletLoss } from "./config";
import { distill, DISTILL_FILES, readDistillMetrics } from "./distill";
import { PatchPairSchedule } from "./patch-pairs";
import { DistillInputs, prepareDistillData } from "./prepare";

export const STUDY_ROLES = ["teacher", "equal", "light", "light-alone"] as const;
export type StudyRole = (typeof STUDY_ROLES)[number];

/** One run of the study: what it is, before its teacher exists. */
export interface StudyCell {
  role: StudyRole;
  loss: TripletLoss;
  seed: number;
  /** Students only. */
  form?: RegularizerForm;
  lambda?: number;
  /** Part of the regulariser sweep rather than of the main table. */
  sweep: boolean;
}

export interface StudyOptions {
  losses: TripletLoss[];
  seeds: number[];
  /** Width of the light networks. */
  width: number;
  /**
   * The regulariser sweep, one factor at a time: light students of `loss` teachers with every form
   * at the default lambda and every lambda with the default form, these seeds.
   */
  sweep: null | { loss: TripletLoss; forms: RegularizerForm[]; lambdas: number[]; seeds: number[] };
  /** Training images (default the config default). */
  images?: string;
  /** Steps and pairs per step of every run (default the config defaults; the quick scale sets them). */
  steps?: number;
  batch?: number;
}

export const STUDY_DEFAULTS: StudyOptions = {
  losses: [...TRIPLET_LOSSES],
  seeds: [0, 1, 2],
  width: DISTILL_DEFAULTS.width,
  sweep: { loss: "hardnet", forms: ["abs", "square", "hinge"], lambdas: [0.3, 1, 3], seeds: [0, 1] },
};

/** Where shipped study runs live, searched after the output folder. */
export const SHIPPED_STUDY_ROOT = projectPath("data", "desdis");

/**
 * The study at the workbook's two scales (lib/training/scales.ts). default: the shipped study.
 * quick: tiny runs trained live in about a minute, for tests and class; their numbers mean nothing.
 */
export const STUDY_SCALES: Record<ScaleName, { options: StudyOptions; roots: string[]; datasets: string[]; maxKeypoints?: number }> = {
  // 1000 KAZE keypoints per image: the L2-Net networks describe every one, and 18 of the study are L2-Net.
  default: { options: STUDY_DEFAULTS, roots: [projectPath("outputs", "desdis"), SHIPPED_STUDY_ROOT], datasets: SCALE_TEST_SETS.default, maxKeypoints: 1000 },
  quick: {
    options: {
      losses: ["hardnet"],
      seeds: [0, 1],
      width: 8,
      steps: 4,
      batch: 16,
      images: "data/bsds500/images/val",
      sweep: { loss: "hardnet", forms: ["abs", "hinge"], lambdas: [1], seeds: [0, 1] },
    },
    roots: [projectPath("outputs", "desdis-quick")],
    datasets: SCALE_TEST_SETS.quick,
    maxKeypoints: 100,
  },
};

/** Every cell, teachers first (students need them), the main grid before the sweep. */
export function studyCells(o: StudyOptions): StudyCell[] {
  const cells: StudyCell[] = [];
  const main = { form: DISTILL_DEFAULTS.regularizer, lambda: DISTILL_DEFAULTS.lambda };
  for (const seed of o.seeds) for (const loss of o.losses) cells.push({ role: "teacher", loss, seed, sweep: false });
  for (const seed of o.seeds) for (const loss of o.losses) cells.push({ role: "light-alone", loss, seed, sweep: false });
  for (const seed of o.seeds) {
    for (const loss of o.losses) {
      cells.push({ role: "light", loss, seed, ...main, sweep: false });
      cells.push({ role: "equal", loss, seed, ...main, sweep: false });
    }
  }
  if (o.sweep) {
    // One factor at a time around the main grid's regulariser: every form at its lambda, every
    // lambda with its form.
    const s = o.sweep;
    const settings = [...s.forms.map((form) => ({ form, lambda: main.lambda })), ...s.lambdas.map((lambda) => ({ form: main.form, lambda }))];
    for (const seed of s.seeds) {
      if (!o.seeds.includes(seed) || !o.losses.includes(s.loss)) {
        // The sweep's teachers: trained here unless the main grid has them.
        cells.splice(cells.findIndex((c) => c.role !== "teacher"), 0, { role: "teacher", loss: s.loss, seed, sweep: true });
      }
      const seen = new Set<string>();
      for (const { form, lambda } of settings) {
        const inMain = form === main.form && lambda === main.lambda && o.seeds.includes(seed) && o.losses.includes(s.loss);
        if (inMain || seen.has(`${form}/${lambda}`)) continue;
        seen.add(`${form}/${lambda}`);
        cells.push({ role: "light", loss: s.loss, seed, form, lambda, sweep: true });
      }
    }
  }
  return cells;
}

/** A teacher as a student config names it (DistillConfig["teacher"]). */
export type TeacherReference = NonNullable<DistillConfig["teacher"]>;

/** What every run of a study shares besides its cell. */
export type StudyScale = Pick<StudyOptions, "width" | "images" | "steps" | "batch">;

/** The resolved config of a cell; a student needs its teacher's reference. */
export function cellConfig(cell: StudyCell, o: StudyScale, teacher?: TeacherReference): DistillConfig {
  const common = { triplet: cell.loss, seed: cell.seed, images: o.images, steps: o.steps, batch: o.batch };
  if (cell.role === "teacher") return resolveDistillConfig({ ...common, kind: "equal" });
  if (cell.role === "light-alone") return resolveDistillConfig({ ...common, kind: "light", width: o.width });
  if (!teacher) throw new Error(`the ${cell.role} student of the ${cell.loss} teacher, seed ${cell.seed}, needs that teacher's reference`);
  return resolveDistillConfig({
    ...common,
    kind: cell.role,
    width: cell.role === "light" ? o.width : undefined,
    teacher,
    regularizer: cell.form,
    lambda: cell.lambda,
  });
}

/** The folder of `config`'s run under the first root that has it, else undefined. */
export function findDistillRun(config: DistillConfig, roots: string[]): string | undefined {
  const name = distillRunName(config);
  return roots.map((r) => path.join(r, name)).find((dir) => fs.existsSync(path.join(dir, DISTILL_FILES.config)));
}

/**
 * A run is finished when its final weights exist or its metrics reach the last step (a shipped run
 * keeps the weights of one seed only).
 */
export function distillRunFinished(dir: string, config: DistillConfig): boolean {
  if (fs.existsSync(path.join(dir, DISTILL_FILES.final))) return true;
  if (!fs.existsSync(path.join(dir, DISTILL_FILES.metrics))) return false;
  return readDistillMetrics(dir).some((r) => r.type === "train" && r.step >= config.steps);
}

/** Beside final.safetensors, its sha256: students name their teacher by it, also when the weights are not shipped. */
export const FINAL_SHA256 = "final.sha256";

/** Write `<dir>/final.sha256` from the final weights (once they exist). */
export function recordFinalHash(dir: string): string {
  const sha256 = fileSha256(path.join(dir, DISTILL_FILES.final));
  writeFileAtomicSync(path.join(dir, FINAL_SHA256), `${sha256}\n`);
  return sha256;
}

/** The reference a student config keeps of the finished teacher run in `dir`. */
export function teacherReference(dir: string, config: DistillConfig): TeacherReference {
  const hashFile = path.join(dir, FINAL_SHA256);
  const sha256 = fs.existsSync(hashFile) ? fs.readFileSync(hashFile, "utf8").trim() : recordFinalHash(dir);
  const file = path.join(dir, DISTILL_FILES.final);
  return {
    file: projectRelative(file),
    sha256,
    architecture: config.network.architecture,
    width: config.network.width,
  };
}

/** A cell with its config, and its run folder once it exists. */
export interface PlannedRun {
  cell: StudyCell;
  config: DistillConfig;
  dir: string;
  finished: boolean;
}

/**
 * The runs of `cells` whose configs can be resolved now: every teacher, and the students whose
 * teacher run is finished. Existing runs are looked up in `roots` (first match wins); a missing one
 * is placed under `out`.
 */
export function planStudy(cells: StudyCell[], o: StudyScale, roots: string[], out: string): { runs: PlannedRun[]; waiting: StudyCell[] } {
  const runs: PlannedRun[] = [];
  const waiting: StudyCell[] = [];
  const teachers = new Map<string, PlannedRun>();
  const key = (c: StudyCell) => `${c.loss}/${c.seed}`;
  for (const cell of cells) {
    let teacher: TeacherReference | undefined;
    if (cell.role === "equal" || cell.role === "light") {
      const t = teachers.get(key(cell));
      if (!t || !t.finished) {
        waiting.push(cell);
        continue;
      }
      teacher = teacherReference(t.dir, t.config);
    }
    const config = cellConfig(cell, o, teacher);
    const found = findDistillRun(config, roots);
    const dir = found ?? path.join(out, distillRunName(config));
    const run = { cell, config, dir, finished: found !== undefined && distillRunFinished(found, config) };
    if (cell.role === "teacher") teachers.set(key(cell), run);
    runs.push(run);
  }
  return { runs, waiting };
}

export interface StudyPlaces {
  /** Where missing runs are trained (e.g. outputs/desdis). */
  out: string;
  /** Where existing runs are looked up, in order (default: out, then the shipped data/desdis). */
  roots?: string[];
  /** Label cache and held-out set (default data/cache). */
  cacheRoot?: string;
}

/**
 * Train every run of the study that is not finished (an interrupted one resumes from its last
 * checkpoint), teachers before their students, with one progress bar over all their steps. Returns
 * every run of the grid, all finished, or stops early (status "interrupted") when `shouldStop` says so.
 */
export async function trainStudy(
  o: StudyOptions,
  places: StudyPlaces,
  opts: { quiet?: boolean; shouldStop?: () => boolean } = {},
): Promise<{ status: "finished" | "interrupted"; runs: PlannedRun[]; trained: number }> {
  const roots = places.roots ?? [places.out, SHIPPED_STUDY_ROOT];
  const cells = studyCells(o);
  const first = planStudy(cells, o, roots, places.out);
  const stepsLeft = first.runs.filter((r) => !r.finished).length + first.waiting.length;
  const steps = o.steps ?? DISTILL_DEFAULTS.steps;
  const bar = progressBar(`desdis study (${cells.length} runs, ${stepsLeft} to train)`, stepsLeft * steps, { quiet: opts.quiet });
  let inputs: DistillInputs | undefined;
  let trained = 0;
  try {
    for (;;) {
      const { runs, waiting } = planStudy(cells, o, roots, places.out);
      const todo = runs.filter((r) => !r.finished);
      if (todo.length === 0) {
        if (waiting.length > 0) throw new Error(`${waiting.length} students wait for teachers that did not finish`);
        return { status: "finished", runs, trained };
      }
      for (const run of todo) {
        inputs ??= await prepareDistillData(run.config, places.cacheRoot ?? projectPath("data", "cache"), { quiet: opts.quiet });
        const teacherFile = run.config.teacher && path.resolve(PROJECT_ROOT, run.config.teacher.file);
        if (teacherFile && !fs.existsSync(teacherFile)) {
          throw new Error(`${teacherFile}: the teacher of ${path.basename(run.dir)} has no weights here (a shipped teacher keeps the weights of seed 0 only); train it into ${places.out} first`);
        }
        const teacher = teacherFile ? loadPatchCheckpoint(teacherFile) : undefined;
        const resume = fs.existsSync(path.join(run.dir, DISTILL_FILES.config));
        const startedAt = resume ? readDistillMetrics(run.dir).filter((r) => r.type === "train").length : 0;
        if (startedAt > 0) bar.tick(Math.min(startedAt, run.config.steps));
        try {
          const result = await distill(
            run.config,
            run.dir,
            { schedule: new PatchPairSchedule(inputs.sources, run.config.data, run.config.seed), heldOut: inputs.heldOut, teacher },
            { resume, quiet: true, shouldStop: opts.shouldStop, onRecord: (r) => r.type === "train" && bar.tick(1, path.basename(run.dir)) },
          );
          if (result.status === "interrupted") return { status: "interrupted", runs, trained };
        } finally {
          teacher?.dispose();
        }
        if (run.cell.role === "teacher") recordFinalHash(run.dir);
        trained++;
      }
    }
  } finally {
    bar.stop();
  }
}
