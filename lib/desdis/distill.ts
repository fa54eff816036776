// The training loop of one DesDis run (a teacher, or a student distilled from a frozen teacher).
// A run lives in one folder, as a SAMFeat run does (lib/training/trainer.ts):
//   config.json                 the fully resolved DistillConfig (lib/desdis/config.ts)
//   metrics.jsonl               one JSON line per step ({type:"train"}: loss terms, lr, gradient norm,
//                               times) and per held-out evaluation ({type:"val"}: FPR95 and the mAPs)
//   last.safetensors            the latest network (parameters and BatchNorm running statistics)
//   last-optimizer.safetensors  the Adam moments of the same step: --resume continues from the two
//   best.safetensors            the network with the lowest held-out FPR95 so far
//   final.safetensors           the network after the last step: the run is finished when it exists
// Every network file is a patch checkpoint (lib/models/patch-checkpoint.ts: `--teacher FILE` of a
// student run, `--method desdis:FILE` of the evaluation), written atomically.
// One step: the batch of (seed, step) (lib/desdis/patch-pairs.ts), anchors and positives through the
// network in two training passes (separate BatchNorm statistics, as HardNet), the triplet loss, plus
// lambda * the teacher-student regulariser against the teacher's evaluation-mode descriptors of the
// same patches. A resumed run ends with the weights an uninterrupted run would have: batches are a
// pure function of (seed, step), and the Adam moments, the running statistics and the dropout-mask
// counter are restored. A non-finite loss term or gradient stops the run before the update, naming
// the term; the last good checkpoint stays as it was.
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { hardnetLoss } from "../losses/hardnet";
import { hynetLoss } from "../losses/hynet";
import { sosnetLoss } from "../losses/sosnet";
import { teacherStudentRegularizer } from "../losses/teacher-student";
import { Adam } from "../models/adam";
import { loadPatchCheckpoint, patchCheckpointMetadata, savePatchCheckpoint } from "../models/patch-checkpoint";
import { createPatchNet, PATCH_SIZE, PatchDescriptorNet, PatchForward } from "../models/patch-descriptors";
import { progressBar } from "../util/progress";
import { appendJsonLine, DivergenceError, gradientNorm, nonFinite, openRunFolder, readFolderConfig, readJsonLines, truncateJsonLines, yieldToEventLoop } from "../util/run-folder";
import { asFloat32, fromFloat32, NamedArray, readSafetensors, writeSafetensors } from "../util/safetensors";
import { checkDistillConfig, DistillConfig, distillLearningRate, TripletLoss } from "./config";
import type { HeldOutSet } from "./held-out";
import { evaluateHeldOut, PatchScores } from "./patch-eval";
import type { PatchPairSchedule } from "./patch-pairs";

export const DISTILL_FILES = {
  config: "config.json",
  metrics: "metrics.jsonl",
  last: "last.safetensors",
  lastOptimizer: "last-optimizer.safetensors",
  best: "best.safetensors",
  final: "final.safetensors",
} as const;

export const TERM_NAMES = ["triplet", "regularizer"] as const;
export type TermName = (typeof TERM_NAMES)[number];

export interface DistillTrainRecord {
  type: "train";
  step: number; // steps done after this one (1-based)
  lr: number;
  loss: number;
  terms: Partial<Record<TermName, number>>;
  grad_norm: number;
  batch_ms: number;
  step_ms: number; // teacher, forward, losses, backward, Adam
}

export interface DistillValRecord extends PatchScores {
  type: "val";
  step: number;
  ms: number;
}

export type DistillRecord = DistillTrainRecord | DistillValRecord;

export interface DistillResult {
  status: "finished" | "interrupted";
  steps: number;
  lastValidation?: DistillValRecord;
  best?: { step: number; fpr95: number };
  /** Mean milliseconds per step over this process's steps: batch cutting and the network step. */
  profile: { batch: number; step: number; steps: number };
}

export interface DistillOptions {
  resume?: boolean;
  quiet?: boolean;
  /** Asked after every step; true saves a checkpoint and returns. */
  shouldStop?: () => boolean;
  onRecord?: (r: DistillRecord) => void;
  /** For tests: replace a term's value with NaN at a given (0-based) step, before the check. */
  corruptTerm?: { step: number; term: TermName };
}

export interface DistillData {
  schedule: PatchPairSchedule;
  heldOut: HeldOutSet;
  /** The frozen teacher of a student run (evaluation mode only). */
  teacher?: PatchDescriptorNet;
}

export { DivergenceError };

/** The triplet loss of a batch of pairs. */
export function tripletLoss(name: TripletLoss, a: PatchForward, p: PatchForward): tf.Scalar {
  if (name === "hardnet") return hardnetLoss(a.descriptors, p.descriptors);
  if (name === "sosnet") return sosnetLoss(a.descriptors, p.descriptors);
  return hynetLoss(a.descriptors, p.descriptors, a.raw, p.raw);
}

/** [N,32,32] grey 0..255 -> [N,32,32,1] in [0,1]. */
function toInput(values: Float32Array): tf.Tensor4D {
  const n = values.length / (PATCH_SIZE * PATCH_SIZE);
  return tf.tidy(() => tf.div(tf.tensor4d(values, [n, PATCH_SIZE, PATCH_SIZE, 1]), 255) as tf.Tensor4D);
}

/** The network a config trains, freshly initialised. */
export function createRunNetwork(config: DistillConfig): PatchDescriptorNet {
  const n = config.network;
  return createPatchNet(n.architecture, { width: n.width, seed: config.seed, dropRate: n.dropRate });
}

/** Read a run folder's config.json. */
export function readDistillConfig(dir: string): DistillConfig {
  return readFolderConfig(path.join(dir, DISTILL_FILES.config), checkDistillConfig);
}

/** Every record of metrics.jsonl (a line cut by a kill is dropped). */
export function readDistillMetrics(dir: string): DistillRecord[] {
  return readJsonLines(path.join(dir, DISTILL_FILES.metrics));
}

/** PatchDescriptorNet numbers its dropout masks by a per-network call counter; a resumed run sets it where the interrupted one was. */
function setDropoutCalls(net: PatchDescriptorNet, calls: number): void {
  (net as unknown as { dropoutCalls: number }).dropoutCalls = calls;
}

/** Training forward passes per step: anchors, then positives. */
const PASSES_PER_STEP = 2;

/**
 * Train (or continue) the run in `dir`. A new folder gets config.json; an existing one needs
 * `resume` and the same config.
 */
export async function distill(config: DistillConfig, dir: string, data: DistillData, opts: DistillOptions = {}): Promise<DistillResult> {
  checkDistillConfig(config, "config");
  if ((config.teacher === null) !== (data.teacher === undefined)) throw new Error(`distill: the config ${config.teacher ? "names a teacher but none was given" : "has no teacher but one was given"}`);
  const files = Object.fromEntries(Object.entries(DISTILL_FILES).map(([k, f]) => [k, path.join(dir, f)])) as Record<keyof typeof DISTILL_FILES, string>;
  openRunFolder(dir, DISTILL_FILES.config, config, opts.resume === true, checkDistillConfig);

  const net = createRunNetwork(config);
  const opt = new Adam(net.params, { lr: config.optimizer.lr, weightDecay: config.optimizer.weightDecay });
  let start = 0;
  let best: { step: number; fpr95: number } | undefined;
  try {
    if (opts.resume && fs.existsSync(files.last)) {
      const meta = patchCheckpointMetadata(files.last);
      const saved = loadPatchCheckpoint(files.last);
      for (const [name, v] of [...net.params, ...net.buffers]) v.assign((saved.params.get(name) ?? saved.buffers.get(name))!);
      saved.dispose();
      const state = readSafetensors(files.lastOptimizer);
      if (state.metadata.step !== meta.step) throw new Error(`${files.lastOptimizer}: optimizer state of step ${state.metadata.step}, but ${files.last} is step ${meta.step}`);
      const moments = new Map<string, { shape: number[]; values: Float32Array }>();
      for (const [k, t] of state.tensors) moments.set(k, { shape: t.shape, values: asFloat32(t, `${files.lastOptimizer}: tensor '${k}'`) });
      opt.importState(Number(state.metadata.adam_steps), moments);
      start = Number(meta.step);
      setDropoutCalls(net, PASSES_PER_STEP * start);
      if (meta.best_step !== undefined) best = { step: Number(meta.best_step), fpr95: Number(meta.best_fpr95) };
      truncateJsonLines(files.metrics, start);
    } else if (fs.existsSync(files.metrics)) {
      truncateJsonLines(files.metrics, 0);
    }
  } catch (e) {
    opt.dispose();
    net.dispose();
    throw e;
  }

  const names = [...net.params.keys()];
  const variables = names.map((n) => net.params.get(n)!);
  const reg = config.loss.regularizer;
  const profile = { batch: 0, step: 0, steps: 0 };
  let lastValidation: DistillValRecord | undefined;
  const meta = (step: number) => ({
    step,
    adam_steps: opt.steps,
    loss: config.loss.triplet,
    role: config.teacher === null ? "teacher" : `student-${config.network.kind}`,
    ...(best ? { best_step: best.step, best_fpr95: best.fpr95 } : {}),
  });
  const saveLast = (step: number) => {
    // Optimizer state first: a kill between the two writes leaves a mismatch that resume reports.
    const tensors = new Map<string, NamedArray>();
    for (const [k, t] of opt.exportState().moments) tensors.set(k, fromFloat32(t.dataSync() as Float32Array, t.shape));
    writeSafetensors(files.lastOptimizer, tensors, { step: String(step), adam_steps: String(opt.steps) });
    savePatchCheckpoint(files.last, net, meta(step));
  };
  const record = (r: DistillRecord) => {
    appendJsonLine(files.metrics, r);
    opts.onRecord?.(r);
  };

  const bar = progressBar(`distill ${path.basename(dir)}`, config.steps, { quiet: opts.quiet });
  bar.tick(start, start > 0 ? `resumed at step ${start}` : "");
  let status: DistillResult["status"] = "finished";
  let reached = start;
  try {
    for (let step = start; step < config.steps; step++) {
      const t0 = performance.now();
      const batch = data.schedule.batch(step);
      const anchors = toInput(batch.anchors);
      const positives = toInput(batch.positives);
      const t1 = performance.now();

      // The frozen teacher: evaluation mode, outside the gradient tape.
      const teacherDesc = data.teacher ? [data.teacher.apply(anchors, false), data.teacher.apply(positives, false)] : [];
      const kept: Partial<Record<TermName, tf.Scalar>> = {};
      const { value, grads } = tf.variableGrads(() => {
        const a = net.forward(anchors, true);
        const p = net.forward(positives, true);
        const triplet = tripletLoss(config.loss.triplet, a, p);
        kept.triplet = tf.keep(triplet);
        if (!reg) return triplet;
        const r = teacherStudentRegularizer(a.descriptors, p.descriptors, teacherDesc[0], teacherDesc[1], { form: reg.form });
        kept.regularizer = tf.keep(r);
        return tf.add(triplet, tf.mul(r, reg.lambda)) as tf.Scalar;
      }, variables);
      const terms: Partial<Record<TermName, number>> = {};
      for (const [k, t] of Object.entries(kept)) terms[k as TermName] = t!.dataSync()[0];
      if (opts.corruptTerm?.step === step) terms[opts.corruptTerm.term] = NaN;
      const loss = value.dataSync()[0];
      const gradNorm = gradientNorm(grads);
      tf.dispose([value, anchors, positives, ...teacherDesc, ...Object.values(kept)]);

      const what = nonFinite(terms, loss, gradNorm);
      if (what !== undefined) {
        tf.dispose(Object.values(grads));
        net.discardBatchStats();
        const keptFile = fs.existsSync(files.last) ? `the last good checkpoint, ${files.last} (step ${patchCheckpointMetadata(files.last).step}), is kept` : "no checkpoint had been written yet";
        throw new DivergenceError(`step ${step + 1}: ${what}; training stopped before the update, ${keptFile}`);
      }

      const lr = distillLearningRate(config, step);
      opt.options.lr = lr;
      opt.step(new Map(names.map((n) => [n, grads[net.params.get(n)!.name]])));
      net.updateRunningStats();
      tf.dispose(Object.values(grads));
      const t2 = performance.now();

      const done = step + 1;
      reached = done;
      profile.batch += t1 - t0;
      profile.step += t2 - t1;
      profile.steps += 1;
      record({ type: "train", step: done, lr, loss, terms, grad_norm: gradNorm, batch_ms: Math.round(t1 - t0), step_ms: Math.round(t2 - t1) });

      if (done % config.heldOut.every === 0 || done === config.steps) {
        const tv = performance.now();
        const scores = evaluateHeldOut(net, data.heldOut);
        lastValidation = { type: "val", step: done, ...scores, ms: Math.round(performance.now() - tv) };
        record(lastValidation);
        if (!best || scores.fpr95 < best.fpr95) {
          best = { step: done, fpr95: scores.fpr95 };
          savePatchCheckpoint(files.best, net, meta(done));
        }
      }
      // A step is one long synchronous stretch: let the event loop run once, so a Ctrl-C (a signal
      // handler, a macrotask) is seen before the next step rather than at the end of the run.
      await yieldToEventLoop();
      const stopping = opts.shouldStop?.() === true && done < config.steps;
      if (done % config.checkpointEvery === 0 || done === config.steps || stopping) saveLast(done);
      const shown = Object.entries(terms).map(([k, v]) => `${k} ${v!.toFixed(3)}`).join(" ");
      bar.tick(1, `loss ${loss.toFixed(3)} (${shown})${lastValidation ? ` | held-out FPR95 ${(100 * lastValidation.fpr95).toFixed(1)}%` : ""}`);
      if (stopping) {
        status = "interrupted";
        break;
      }
    }
    if (status === "finished") savePatchCheckpoint(files.final, net, meta(config.steps));
  } finally {
    bar.stop();
    opt.dispose();
    net.dispose();
  }
  const n = Math.max(1, profile.steps);
  return { status, steps: reached, lastValidation, best, profile: { batch: profile.batch / n, step: profile.step / n, steps: profile.steps } };
}
