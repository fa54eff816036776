// A training run is its config: the ablation row (which losses and which network paths are on), the
// teacher, the data, the optimiser and the schedule. Rows differ only here (method.md A.9):
//
//   row        losses                     network
//   baseline   det + des                  EAG paths off (MTLDesc-like)
//   psrd       det + des + dis            EAG paths off
//   psrd-wsc   det + des + dis + wsc      EAG paths off
//   full       det + des + dis + wsc + edge   EAG paths on: edge head, c3 gating, edge attention on
//                                             the features, edge added to the detection logits
//
// Every run writes its fully resolved config as config.json; two runs with equal resolved configs
// are the same run (runKey), which is how finished runs are found again instead of retrained.
//
// A dense student (`distill`, the workbench's extension of DesDis to SAMFeat; lib/losses/
// dense-distillation.ts) is a row trained with the row's losses plus lambda times the DesDis
// regulariser against a frozen trained SamFeatNet. The field is absent from every other config, so
// the config (and its runKey) of an ordinary run is what it was before the field existed.
import * as crypto from "node:crypto";
import { LOSS_NAMES, LossName, REGULARIZER_FORMS, RegularizerForm } from "../losses/index";
import { canonicalJson } from "../teachers/cache";

export const ROW_NAMES = ["baseline", "psrd", "psrd-wsc", "full"] as const;
export type RowName = (typeof ROW_NAMES)[number];
export const TEACHER_NAMES = ["human", "classical", "sam"] as const;
export type TeacherName = (typeof TEACHER_NAMES)[number];


export const ROWS: Record<RowName, { losses: LossName[]; eag: boolean; what: string }> = {
  baseline: { losses: ["det", "des"], eag: false, what: "detector and descriptor losses only; no edge head, gating or edge attention (MTLDesc-like)" },
  psrd: { losses: ["det", "des", "dis"], eag: false, what: "baseline + PSRD relation distillation from the teacher embedding" },
  "psrd-wsc": { losses: ["det", "des", "dis", "wsc"], eag: false, what: "baseline + PSRD + WSC contrastive grouping loss" },
  full: { losses: ["det", "des", "dis", "wsc", "edge"], eag: true, what: "PSRD + WSC + EAG: edge loss, c3 gating, edge attention, edges added to the detection logits" },
};

export interface TrainConfig {
  row: RowName;
  teacher: TeacherName;
  losses: {
    enabled: LossName[];
    weights: Record<LossName, number>;
    wscVariant: "release" | "supcon";
    /** PSRD relation matrices use at most this many grid cells (evenly spaced) per image. */
    psrdMaxPixels: number;
  };
  network: { width: number; descDim: number; eag: boolean };
  data: {
    /** Image folder, relative to the project root when inside it. */
    images: string;
    size: number;
    /** Pairs per step (the network sees 2x as many images). */
    batch: number;
    /** Correspondences per pair: a jittered grid of pointsPerSide^2 points. */
    pointsPerSide: number;
    identityProbability: number;
    photometricProbability: number;
    notSearchRadius: number;
    warpTeacher: boolean;
  };
  optimizer: { lr: number; weightDecay: number; schedule: "release-linear" };
  steps: number;
  seed: number;
  validation: { every: number; pairs: number; seed: number };
  checkpointEvery: number;
  /** Only in dense-student runs; absent (not null, not undefined) otherwise. */
  distill?: DenseDistillConfig;
}

/** The frozen teacher of a dense student and the regulariser tying the student to it. */
export interface DenseDistillConfig {
  teacher: {
    /** The teacher's SamFeatNet checkpoint, relative to the project root when inside it. */
    file: string;
    /** sha256 of the file's bytes: the run is bound to these exact weights. */
    sha256: string;
    /** The teacher network's width (checkpoint metadata). */
    width: number;
    /** The ablation row the teacher was trained as (checkpoint metadata); null when the checkpoint records none. */
    row: RowName | null;
  };
  form: RegularizerForm;
  /** Weight of the regulariser: L = L_row + lambda * distill. */
  lambda: number;
}

/** Defaults of a dense student's regulariser. */
export const DENSE_DISTILL_DEFAULTS = { form: "abs" as RegularizerForm, lambda: 1 };

export interface ConfigOverrides {
  steps?: number;
  seed?: number;
  width?: number;
  size?: number;
  batch?: number;
  images?: string;
  checkpointEvery?: number;
  validateEvery?: number;
  validationPairs?: number;
  weights?: Partial<Record<LossName, number>>;
  wscVariant?: "release" | "supcon";
  warpTeacher?: boolean;
  lr?: number;
  /** A dense student of this teacher (see DenseDistillConfig); form and lambda default to DENSE_DISTILL_DEFAULTS. */
  distill?: { teacher: DenseDistillConfig["teacher"]; form?: RegularizerForm; lambda?: number };
}

/**
 * Defaults of the CPU scale. The steps were chosen from learning curves (the README's training
 * section): validation and test MMA still rise at 2400 steps, so the default is the most steps
 * whose `full` run fits in 20 minutes with 2 threads here.
 */
export const TRAIN_DEFAULTS = {
  steps: 1000,
  seed: 0,
  width: 0.5,
  size: 192,
  batch: 4,
  images: "data/bsds500/images",
  validateEvery: 50,
  validationPairs: 12,
};

export function resolveConfig(row: RowName, teacher: TeacherName, o: ConfigOverrides = {}): TrainConfig {
  const r = ROWS[row];
  const steps = o.steps ?? TRAIN_DEFAULTS.steps;
  return {
    row,
    teacher,
    losses: {
      enabled: [...r.losses],
      weights: { det: 1, des: 1, dis: 1, wsc: 1, edge: 1, ...o.weights },
      wscVariant: o.wscVariant ?? "release",
      psrdMaxPixels: 1024,
    },
    network: { width: o.width ?? TRAIN_DEFAULTS.width, descDim: 128, eag: r.eag },
    data: {
      images: o.images ?? TRAIN_DEFAULTS.images,
      size: o.size ?? TRAIN_DEFAULTS.size,
      batch: o.batch ?? TRAIN_DEFAULTS.batch,
      pointsPerSide: 16,
      identityProbability: 0.5,
      photometricProbability: 0.5,
      notSearchRadius: 16,
      warpTeacher: o.warpTeacher ?? false,
    },
    optimizer: { lr: o.lr ?? 1e-3, weightDecay: 1e-4, schedule: "release-linear" },
    steps,
    seed: o.seed ?? TRAIN_DEFAULTS.seed,
    validation: { every: o.validateEvery ?? TRAIN_DEFAULTS.validateEvery, pairs: o.validationPairs ?? TRAIN_DEFAULTS.validationPairs, seed: 1000003 },
    checkpointEvery: o.checkpointEvery ?? TRAIN_DEFAULTS.validateEvery,
    // Only when asked for: an absent key keeps every ordinary config (and its hash) unchanged.
    ...(o.distill
      ? { distill: { teacher: { ...o.distill.teacher }, form: o.distill.form ?? DENSE_DISTILL_DEFAULTS.form, lambda: o.distill.lambda ?? DENSE_DISTILL_DEFAULTS.lambda } }
      : {}),
  };
}

/** A short hash of the resolved config: equal configs, equal keys. */
export function runKey(config: TrainConfig): string {
  return crypto.createHash("sha256").update(canonicalJson(config)).digest("hex").slice(0, 10);
}

/**
 * The default run folder name: row, teacher, scale, seed and the config hash. A dense student's says
 * so: dense-student-<row>-...-seed<seed>-from-<teacher sha256, 8 hex>-<form><lambda>-<hash>.
 */
export function defaultRunName(config: TrainConfig): string {
  const { row, teacher, network, data, steps, seed, distill } = config;
  const base = `${row}-${teacher}-w${network.width}-s${data.size}-b${data.batch}-n${steps}-seed${seed}`;
  if (distill) return `dense-student-${base}-from-${distill.teacher.sha256.slice(0, 8)}-${distill.form}${distill.lambda}-${runKey(config)}`;
  return `${base}-${runKey(config)}`;
}

/**
 * The release's schedule (method.md A.5): LambdaLR factor 1 - e/31 stepped once per epoch over 30
 * epochs. A run of `steps` steps is cut into 30 equal "epochs": lr(t) = lr0 (1 - floor(30 t / steps) / 31).
 */
export function learningRate(config: TrainConfig, step: number): number {
  const epoch = Math.min(29, Math.floor((30 * step) / config.steps));
  return config.optimizer.lr * (1 - epoch / 31);
}

/** Throws naming the field when a config read from disk is not a usable TrainConfig. */
export function checkConfig(c: TrainConfig, source: string): TrainConfig {
  const bad = (what: string) => new Error(`${source}: ${what}`);
  if (!ROW_NAMES.includes(c.row)) throw bad(`row '${c.row}' is not one of ${ROW_NAMES.join(", ")}`);
  if (!TEACHER_NAMES.includes(c.teacher)) throw bad(`teacher '${c.teacher}' is not one of ${TEACHER_NAMES.join(", ")}`);
  if (!(c.data.size % 8 === 0 && c.data.size >= 32)) throw bad(`data.size ${c.data.size} must be a multiple of 8, at least 32`);
  if (!(Number.isInteger(c.steps) && c.steps >= 1)) throw bad(`steps ${c.steps} must be a positive integer`);
  if (!(Number.isInteger(c.data.batch) && c.data.batch >= 1)) throw bad(`data.batch ${c.data.batch} must be a positive integer`);
  for (const t of c.losses.enabled) if (!LOSS_NAMES.includes(t)) throw bad(`unknown loss term '${t}'`);
  if (c.losses.enabled.includes("edge") && !c.network.eag) throw bad("the edge loss needs the network's EAG paths (network.eag)");
  if ("distill" in c) checkDistill(c.distill, bad);
  return c;
}

function checkDistill(d: unknown, bad: (what: string) => Error): void {
  // An ordinary run has no distill key at all: a null or undefined value would be a different config.
  if (d === null || typeof d !== "object" || Array.isArray(d)) throw bad(`distill must be absent or an object, got ${JSON.stringify(d) ?? "undefined"}`);
  const { teacher: t, form, lambda } = d as DenseDistillConfig;
  if (t === null || typeof t !== "object") throw bad("distill.teacher must be an object { file, sha256, width, row }");
  if (typeof t.file !== "string" || t.file === "") throw bad("distill.teacher.file must be a file name");
  if (typeof t.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(t.sha256)) throw bad(`distill.teacher.sha256 '${t.sha256}' must be 64 hex digits`);
  if (!(typeof t.width === "number" && Number.isFinite(t.width) && t.width > 0)) throw bad(`distill.teacher.width ${t.width} must be a positive number`);
  if (t.row !== null && !ROW_NAMES.includes(t.row)) throw bad(`distill.teacher.row '${t.row}' is not one of ${ROW_NAMES.join(", ")} (or null)`);
  if (!REGULARIZER_FORMS.includes(form)) throw bad(`distill.form '${form}' is not one of ${REGULARIZER_FORMS.join(", ")}`);
  if (!(typeof lambda === "number" && Number.isFinite(lambda) && lambda >= 0)) throw bad(`distill.lambda ${lambda} must be a number >= 0`);
}
