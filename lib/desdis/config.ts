// A DesDis run is its config: which network is trained (a teacher, or a student of a frozen teacher),
// with which losses, on which patches, for how long. Written fully resolved as config.json; two runs
// with equal resolved configs are the same run (runKey in the folder name).
//
//   teacher run     --teacher none: the network alone with its triplet loss (hardnet | sosnet | hynet);
//                   "equal" is the HardNet-size L2-Net network, "light" a DesDis network of width d
//                   (then a student-size baseline trained without a teacher)
//   student run     --teacher FILE: L = triplet(S) + lambda * regulariser(S, T), T frozen; "equal" has
//                   the teacher's architecture and width, "light" is the DesDis network of width d
import * as crypto from "node:crypto";
import { REGULARIZER_FORMS, RegularizerForm } from "../losses/teacher-student";
import type { PatchArchitecture } from "../models/patch-descriptors";
import { canonicalJson } from "../teachers/cache";
import { HeldOutOptions } from "./held-out";
import { PATCH_DATA_DEFAULTS, PatchDataOptions } from "./patch-pairs";

export const TRIPLET_LOSSES = ["hardnet", "sosnet", "hynet"] as const;
export type TripletLoss = (typeof TRIPLET_LOSSES)[number];
export const REGULARIZERS = REGULARIZER_FORMS;
export const STUDENT_KINDS = ["equal", "light"] as const;
export type StudentKind = (typeof STUDENT_KINDS)[number];

export interface DistillConfig {
  /** The teacher: null for a teacher run; else its file (project-relative when inside), content hash, network. */
  teacher: null | { file: string; sha256: string; architecture: PatchArchitecture; width: number };
  /** The trained network. */
  network: { kind: StudentKind; architecture: PatchArchitecture; width: number; dropRate: number };
  loss: {
    triplet: TripletLoss;
    /** null in a teacher run. */
    regularizer: null | { form: RegularizerForm; lambda: number };
  };
  data: PatchDataOptions & { images: string };
  heldOut: HeldOutOptions & { every: number };
  /** Adam (torch semantics), learning rate decayed linearly to 0 over the run (HardNet's schedule). */
  optimizer: { lr: number; weightDecay: number; schedule: "linear" };
  steps: number;
  seed: number;
  checkpointEvery: number;
}

/**
 * Defaults of the CPU scale (lib/desdis/README.md): every network, teacher or student, L2-Net or
 * light, sees the same 128 pairs x 100 steps, so a student is never better than its teacher merely
 * for having seen more pairs. An L2-Net teacher takes about 2 minutes on 2 cores; the held-out FPR95
 * flattens after about 75 of the 100 steps.
 */
export const DISTILL_DEFAULTS = {
  batch: 128,
  steps: 100,
  width: 32,
  lambda: 1,
  regularizer: "abs" as RegularizerForm,
  triplet: "hardnet" as TripletLoss,
  images: "data/bsds500/images",
  heldOutRoots: ["data/synthetic-hpatches", "data/hpatches-sample"],
  keypointsPerSequence: 24,
  validateEvery: 25,
  lr: 1e-3,
  seed: 0,
};

export interface DistillOverrides {
  teacher?: DistillConfig["teacher"];
  /** The teacher's triplet loss when its checkpoint records one (a student's default). */
  teacherLoss?: TripletLoss;
  kind: StudentKind;
  width?: number;
  triplet?: TripletLoss;
  regularizer?: RegularizerForm;
  lambda?: number;
  steps?: number;
  batch?: number;
  pairsPerImage?: number;
  seed?: number;
  images?: string;
  validateEvery?: number;
  checkpointEvery?: number;
  keypointsPerSequence?: number;
  lr?: number;
}

/** A usage problem in the overrides (the command turns it into exit code 2). */
export class ConfigError extends Error {}

export function resolveDistillConfig(o: DistillOverrides): DistillConfig {
  const t = o.teacher ?? null;
  if (t === null && (o.regularizer !== undefined || o.lambda !== undefined)) {
    throw new ConfigError("--reg and --lambda need a teacher (a --teacher none run trains with the triplet loss alone)");
  }
  let architecture: PatchArchitecture;
  let width: number;
  if (o.kind === "equal") {
    architecture = t ? t.architecture : "l2net";
    width = t ? t.width : 32;
    if (o.width !== undefined && o.width !== width) {
      throw new ConfigError(`--width ${o.width}: an equal-weight network has ${t ? "its teacher's" : "the L2-Net"} width, ${width}`);
    }
  } else {
    architecture = "desdis";
    width = o.width ?? DISTILL_DEFAULTS.width;
  }
  const support = PATCH_DATA_DEFAULTS.support;
  return {
    teacher: t,
    network: { kind: o.kind, architecture, width, dropRate: architecture === "l2net" ? 0.3 : 0.1 },
    loss: {
      triplet: o.triplet ?? o.teacherLoss ?? DISTILL_DEFAULTS.triplet,
      regularizer: t === null ? null : { form: o.regularizer ?? DISTILL_DEFAULTS.regularizer, lambda: o.lambda ?? DISTILL_DEFAULTS.lambda },
    },
    data: {
      ...PATCH_DATA_DEFAULTS,
      images: o.images ?? DISTILL_DEFAULTS.images,
      batch: o.batch ?? DISTILL_DEFAULTS.batch,
      pairsPerImage: o.pairsPerImage ?? PATCH_DATA_DEFAULTS.pairsPerImage,
    },
    heldOut: {
      roots: DISTILL_DEFAULTS.heldOutRoots,
      keypointsPerSequence: o.keypointsPerSequence ?? DISTILL_DEFAULTS.keypointsPerSequence,
      support,
      scaleRange: PATCH_DATA_DEFAULTS.scaleRange,
      minSeparation: PATCH_DATA_DEFAULTS.minSeparation,
      jitter: PATCH_DATA_DEFAULTS.jitter,
      noise: PATCH_DATA_DEFAULTS.noise,
      seed: 1000003,
      every: o.validateEvery ?? DISTILL_DEFAULTS.validateEvery,
    },
    optimizer: { lr: o.lr ?? DISTILL_DEFAULTS.lr, weightDecay: 1e-4, schedule: "linear" },
    steps: o.steps ?? DISTILL_DEFAULTS.steps,
    seed: o.seed ?? DISTILL_DEFAULTS.seed,
    checkpointEvery: o.checkpointEvery ?? o.validateEvery ?? DISTILL_DEFAULTS.validateEvery,
  };
}

/** Learning rate before step `step` (0-based): lr0 (1 - step / steps). */
export function distillLearningRate(config: DistillConfig, step: number): number {
  return config.optimizer.lr * (1 - step / config.steps);
}

/**
 * A short hash of the resolved config. A student's teacher counts by its content (sha256), not by
 * where its file lies, so a teacher copied from outputs/ into the shipped data/ keeps its students.
 */
export function distillRunKey(config: DistillConfig): string {
  let identity: unknown = config;
  if (config.teacher !== null) {
    const { file: _where, ...teacher } = config.teacher;
    identity = { ...config, teacher };
  }
  return crypto.createHash("sha256").update(canonicalJson(identity)).digest("hex").slice(0, 10);
}

/** Network tag: l2net or desdis<d>. */
export function networkTag(n: { architecture: PatchArchitecture; width: number }): string {
  return n.architecture === "l2net" ? "l2net" : `desdis${n.width}`;
}

/** The run folder name, e.g. teacher-hardnet-l2net-b128-n100-seed0-<hash>, alone-hardnet-desdis32-... or student-light-desdis16-hardnet-abs1-from-l2net-...-<hash>. */
export function distillRunName(c: DistillConfig): string {
  const net = networkTag(c.network);
  const tail = `b${c.data.batch}-n${c.steps}-seed${c.seed}-${distillRunKey(c)}`;
  // A light network trained without a teacher is no one's teacher in the study: "alone".
  if (c.teacher === null) return `${c.network.kind === "light" ? "alone" : "teacher"}-${c.loss.triplet}-${net}-${tail}`;
  const r = c.loss.regularizer!;
  return `student-${c.network.kind}-${net}-${c.loss.triplet}-${r.form}${r.lambda}-from-${networkTag(c.teacher)}-${c.teacher.sha256.slice(0, 8)}-${tail}`;
}

/** Throws naming the field when a config read from disk is not usable. */
export function checkDistillConfig(c: DistillConfig, source: string): DistillConfig {
  const bad = (what: string) => new Error(`${source}: ${what}`);
  if (!c || typeof c !== "object" || !c.network || !c.loss || !c.data || !c.heldOut || !c.optimizer) throw bad("not a DesDis run config");
  if (!TRIPLET_LOSSES.includes(c.loss.triplet)) throw bad(`loss.triplet '${c.loss.triplet}' is not one of ${TRIPLET_LOSSES.join(", ")}`);
  if (c.loss.regularizer !== null && !REGULARIZERS.includes(c.loss.regularizer.form)) throw bad(`loss.regularizer.form '${c.loss.regularizer.form}' is not one of ${REGULARIZERS.join(", ")}`);
  if ((c.teacher === null) !== (c.loss.regularizer === null)) throw bad("a regulariser goes with a teacher, and only with one");
  if (!(Number.isInteger(c.steps) && c.steps >= 1)) throw bad(`steps ${c.steps} must be a positive integer`);
  if (!(Number.isInteger(c.data.batch) && c.data.batch >= 2)) throw bad(`data.batch ${c.data.batch} must be an integer >= 2`);
  if (c.data.batch % c.data.pairsPerImage !== 0) throw bad(`data.pairsPerImage ${c.data.pairsPerImage} must divide data.batch ${c.data.batch}`);
  if (!(Number.isInteger(c.heldOut.every) && c.heldOut.every >= 1)) throw bad(`heldOut.every ${c.heldOut.every} must be a positive integer`);
  return c;
}
