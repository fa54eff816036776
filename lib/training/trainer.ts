// The training loop of one run. A run lives in one folder:
//   config.json          the fully resolved TrainConfig (lib/training/config.ts)
//   metrics.jsonl        one JSON line per step ({type:"train"}: every loss term, lr, gradient norm,
//                        times, live tensors) and per validation ({type:"val"}: loss terms, MMA@1..10)
//   last.safetensors     the latest checkpoint, with the Adam moments: what --resume continues from
//   best.safetensors     the checkpoint with the best validation MMA@3 so far
//   final.safetensors    the network after the last step: the run is finished when it exists
// Every checkpoint is a SamFeatNet checkpoint (a valid `npm run eval -- --method FILE`) and is
// written atomically. A batch is a pure function of (seed, step) and the optimizer state is saved
// with the weights, so a resumed run ends with the weights an uninterrupted run would have.
// A non-finite loss term or gradient stops the run before the update, naming the term; the last
// good checkpoint stays as it was.
// A dense student (config.distill; lib/training/dense-student.ts) also loads its frozen teacher once,
// runs it on every batch outside the gradient closure and adds lambda times the dense DesDis
// regulariser (lib/losses/dense-distillation.ts), logged as the term `distill`. Validation reports
// the row's own losses and MMA, as for any run of the row.
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { extractSamFeat } from "../eval/samfeat-extractor";
import { mutualNearestNeighbours } from "../eval/matching";
import { matchErrors, pairAccuracy } from "../eval/metrics";
import { Rng } from "../geometry/random";
import { LossName, PairTargets, samfeatLosses, SamfeatLossOptions, sampleDescriptors } from "../losses/index";
import type { SampledDescriptors } from "../losses/descriptor";
import { denseDistillationFromSamples } from "../losses/dense-distillation";
import { Adam } from "../models/adam";
import { median, trainStep as bareNetworkStep } from "../models/bare-step";
import { checkpointMetadata, loadCheckpoint, readCheckpointState, saveCheckpoint } from "../models/checkpoint";
import { SamFeatNet } from "../models/samfeat";
import { appendJsonLine, DivergenceError, gradientNorm, nonFinite, openRunFolder, readFolderConfig, readJsonLines, truncateJsonLines, yieldToEventLoop } from "../util/run-folder";
import { progressBar } from "../util/progress";
import { disposeBatch, toBatch, toTensors } from "./batch";
import { checkConfig, learningRate, TrainConfig } from "./config";
import { loadDistillTeacher } from "./dense-student";
import { makePair, PairOptions, TrainingPair } from "./pairs";
import { createBatchSource } from "./prefetch";
import { seedFor } from "./schedule";
import type { PairSources } from "./sources";

export const RUN_FILES = {
  config: "config.json",
  metrics: "metrics.jsonl",
  last: "last.safetensors",
  best: "best.safetensors",
  final: "final.safetensors",
} as const;

/** A logged loss term: one of the row's, or `distill`, a dense student's regulariser (unweighted). */
export type TermName = LossName | "distill";

/** Keypoints per image when validating (the extractor's top-k). */
const VALIDATION_TOP_K = 1000;

export interface TrainRecord {
  type: "train";
  step: number; // steps done after this one (1-based)
  lr: number;
  loss: number;
  terms: Partial<Record<TermName, number>>;
  grad_norm: number;
  batch_ms: number; // waiting for the batch (its assembly when not prefetched) and making its tensors
  step_ms: number; // forward, losses, backward
  update_ms: number; // Adam
  tensors: number;
}

export interface ValRecord {
  type: "val";
  step: number;
  loss: number;
  terms: Partial<Record<LossName, number>>;
  /** MMA at 1..10 px on the validation pairs, with the network's own detector. */
  mma: number[];
  features: number;
  ms: number;
}

export type RunStatus = "finished" | "interrupted";

export interface TrainResult {
  status: RunStatus;
  steps: number;
  lastValidation?: ValRecord;
  best?: { step: number; mma3: number };
  /** Mean milliseconds per step of each phase, over this process's steps. */
  profile: { batch: number; step: number; update: number; validation_total: number; steps: number; bare?: BareStepTiming };
}

/** Medians over the steps of one process: the whole training step, and the bare network step timed right after it. */
export interface BareStepTiming {
  whole_ms: number;
  bare_ms: number;
}

export interface TrainOptions {
  /** Continue from last.safetensors (the folder must hold the same config). */
  resume?: boolean;
  quiet?: boolean;
  /** Asked after every step; true saves a checkpoint and returns (Ctrl-C). */
  shouldStop?: () => boolean;
  /** Called after every step and validation. */
  onRecord?: (r: TrainRecord | ValRecord) => void;
  /** Build the next batch on a worker thread while a step trains (default true; inline where a worker cannot start). */
  prefetch?: boolean;
  /**
   * After every step, also time npm run bench's bare step (forward, its surrogate loss, backward,
   * Adam) on the same images with a network of its own, so both are measured under the same machine
   * load (--profile). The run's own weights and batches are untouched.
   */
  timeBareStep?: boolean;
  /** For tests: replace a term's value (e.g. with NaN) at a given step, before the check. */
  corruptTerm?: { step: number; term: TermName };
}

export { DivergenceError };

export function pairOptions(config: TrainConfig): Partial<PairOptions> {
  const d = config.data;
  return {
    size: d.size,
    pointsPerSide: d.pointsPerSide,
    identityProbability: d.identityProbability,
    photometricProbability: d.photometricProbability,
    notSearchRadius: d.notSearchRadius,
    warpTeacher: d.warpTeacher,
  };
}

export function lossOptions(config: TrainConfig): SamfeatLossOptions {
  return {
    enabled: config.losses.enabled,
    weights: config.losses.weights,
    wsc: { variant: config.losses.wscVariant },
    psrd: { maxPixels: config.losses.psrdMaxPixels },
  };
}

/** The fixed validation pairs: always a homography (an identity copy would test nothing), fixed seeds. */
export function validationPairs(config: TrainConfig, sources: PairSources): TrainingPair[] {
  const opts = { ...pairOptions(config), identityProbability: 0 };
  return Array.from({ length: config.validation.pairs }, (_, k) =>
    makePair(sources.source(k % sources.count), new Rng(seedFor(config.validation.seed, k)), opts),
  );
}

function readScalars<K extends string>(terms: Partial<Record<K, tf.Scalar>>): Partial<Record<K, number>> {
  const out: Partial<Record<K, number>> = {};
  for (const [k, t] of Object.entries(terms)) out[k as K] = (t as tf.Scalar).dataSync()[0];
  return out;
}

/** A frozen network's sampled descriptors at the batch's correspondences ([2B,n,D] x, [2B,n] w), no tape. */
function teacherSamples(teacher: SamFeatNet, images: tf.Tensor4D, targets: PairTargets): SampledDescriptors {
  const [x, w] = tf.tidy(() => {
    const s = sampleDescriptors(teacher.apply(images), targets);
    return [s.x, s.w];
  });
  return { x: x as tf.Tensor3D, w: w as tf.Tensor2D };
}

/** Validation loss (forward only, in batches of the run's size) and MMA of the network's own features. */
export function validate(net: SamFeatNet, config: TrainConfig, pairs: TrainingPair[]): Omit<ValRecord, "type" | "step" | "ms"> {
  const sums: Partial<Record<LossName, number>> = {};
  let loss = 0;
  for (let i = 0; i < pairs.length; i += config.data.batch) {
    const chunk = pairs.slice(i, i + config.data.batch);
    const batch = toBatch(chunk);
    const { total, terms } = tf.tidy(() => {
      const r = samfeatLosses(net.apply(batch.images), batch.targets, lossOptions(config));
      return { total: r.total.dataSync()[0], terms: readScalars(r.terms) };
    });
    disposeBatch(batch);
    loss += total * chunk.length;
    for (const [k, v] of Object.entries(terms)) sums[k as LossName] = (sums[k as LossName] ?? 0) + v! * chunk.length;
  }
  const terms: Partial<Record<LossName, number>> = {};
  for (const [k, v] of Object.entries(sums)) terms[k as LossName] = v! / pairs.length;

  const acc = new Array(10).fill(0);
  let features = 0;
  for (const p of pairs) {
    const a = extractSamFeat(net, p.views[0].image, { topK: VALIDATION_TOP_K });
    const b = extractSamFeat(net, p.views[1].image, { topK: VALIDATION_TOP_K });
    features += (a.scores.length + b.scores.length) / 2;
    const matches = mutualNearestNeighbours(a.descriptors, b.descriptors, a.dim);
    pairAccuracy(matchErrors(a.keypoints, b.keypoints, matches, p.homography)).forEach((v, i) => (acc[i] += v));
  }
  return { loss: loss / pairs.length, terms, mma: acc.map((v) => v / pairs.length), features: features / pairs.length };
}

/** Read a run folder's config.json. */
export function readRunConfig(dir: string): TrainConfig {
  return readFolderConfig(path.join(dir, RUN_FILES.config), checkConfig);
}

/** Every record of metrics.jsonl (a line cut by a kill is dropped). */
export function readMetrics(dir: string): (TrainRecord | ValRecord)[] {
  return readJsonLines(path.join(dir, RUN_FILES.metrics));
}

/**
 * Train (or continue) the run in `dir`. The folder is created with config.json when new; an existing
 * folder needs `resume` and the same config.
 */
export async function train(config: TrainConfig, dir: string, data: { train: PairSources; validation: PairSources }, opts: TrainOptions = {}): Promise<TrainResult> {
  checkConfig(config, "config");
  const files = Object.fromEntries(Object.entries(RUN_FILES).map(([k, f]) => [k, path.join(dir, f)])) as Record<keyof typeof RUN_FILES, string>;
  openRunFolder(dir, RUN_FILES.config, config, opts.resume === true, checkConfig);

  // A dense student's frozen teacher: loaded (and checked against the config's sha256) before anything
  // else, so a wrong teacher stops the run before it starts. It has no dropout or batch norm, so its
  // forward pass is the evaluation one; it never enters the gradient closure.
  const teacher = config.distill ? loadDistillTeacher(config.distill) : undefined;
  const net = new SamFeatNet({ ...config.network, seed: config.seed });
  const opt = new Adam(net.params, { lr: config.optimizer.lr, weightDecay: config.optimizer.weightDecay });
  let start = 0;
  let best: { step: number; mma3: number } | undefined;
  if (opts.resume && fs.existsSync(files.last)) {
    const saved = loadCheckpoint(files.last);
    for (const [name, p] of net.params) p.assign(saved.params.get(name)!);
    saved.dispose();
    const { metadata, state } = readCheckpointState(files.last);
    start = Number(metadata.step);
    opt.importState(Number(metadata.adam_steps), state);
    if (metadata.best_step !== undefined) best = { step: Number(metadata.best_step), mma3: Number(metadata.best_mma3) };
    truncateJsonLines(files.metrics, start);
  } else if (fs.existsSync(files.metrics)) {
    truncateJsonLines(files.metrics, 0);
  }

  const valPairs = validationPairs(config, data.validation);
  const pairOpts = pairOptions(config);
  const lossOpts = lossOptions(config);
  const names = [...net.params.keys()];
  const variables = names.map((n) => net.params.get(n)!);
  const profile = { batch: 0, step: 0, update: 0, validation_total: 0, steps: 0 };
  const bare = opts.timeBareStep ? { net: new SamFeatNet({ ...config.network, seed: config.seed }), whole: [] as number[], bare: [] as number[] } : undefined;
  const bareOpt = bare ? new Adam(bare.net.params, { lr: config.optimizer.lr, weightDecay: config.optimizer.weightDecay }) : undefined;
  let lastValidation: ValRecord | undefined;

  const meta = (step: number) => ({
    step,
    adam_steps: opt.steps,
    row: config.row,
    teacher: config.teacher,
    ...(best ? { best_step: best.step, best_mma3: best.mma3 } : {}),
  });
  const saveLast = (step: number) => saveCheckpoint(files.last, net, meta(step), opt.exportState().moments);
  const record = (r: TrainRecord | ValRecord) => {
    appendJsonLine(files.metrics, r);
    opts.onRecord?.(r);
  };

  const bar = progressBar(`train ${path.basename(dir)}`, config.steps, { quiet: opts.quiet });
  bar.tick(start, start > 0 ? `resumed at step ${start}` : "");
  let status: RunStatus = "finished";
  let reached = start;
  const batches = await createBatchSource(data.train, { batch: config.data.batch, seed: config.seed, pairOptions: pairOpts, prefetch: opts.prefetch });
  if (batches.reason && !opts.quiet) console.log(batches.reason);
  try {
    for (let step = start; step < config.steps; step++) {
      const t0 = performance.now();
      const batch = toTensors(await batches.next(step));
      const t1 = performance.now();

      const lr = learningRate(config, step);
      // The teacher's descriptors [2B,n,D_T] at the batch's correspondences, computed outside the
      // gradient closure (the tape records nothing of the teacher) and freed after the step.
      const teacherSampled = teacher ? teacherSamples(teacher, batch.images, batch.targets) : undefined;
      const kept: Partial<Record<TermName, tf.Scalar>> = {};
      const { value, grads } = tf.variableGrads(() => {
        const outputs = net.apply(batch.images);
        const r = samfeatLosses(outputs, batch.targets, lossOpts);
        for (const [k, t] of Object.entries(r.terms)) kept[k as LossName] = tf.keep(t!);
        if (!config.distill || !teacherSampled) return r.total;
        const d = denseDistillationFromSamples(sampleDescriptors(outputs, batch.targets), teacherSampled, batch.targets, { form: config.distill.form });
        kept.distill = tf.keep(d);
        return tf.add(r.total, tf.mul(d, config.distill.lambda)) as tf.Scalar;
      }, variables);
      if (teacherSampled) tf.dispose([teacherSampled.x, teacherSampled.w]);
      const terms = readScalars(kept);
      if (opts.corruptTerm?.step === step) terms[opts.corruptTerm.term] = NaN;
      const loss = value.dataSync()[0];
      const gradNorm = gradientNorm(grads);
      const t2 = performance.now();
      tf.dispose([value, ...Object.values(kept)]);

      const what = nonFinite(terms, loss, gradNorm);
      if (what !== undefined) {
        tf.dispose(Object.values(grads));
        disposeBatch(batch);
        const kept = fs.existsSync(files.last) ? `the last good checkpoint, ${files.last} (step ${checkpointMetadata(files.last).step}), is kept` : "no checkpoint had been written yet";
        throw new DivergenceError(`step ${step + 1}: ${what}; training stopped before the update, ${kept}`);
      }

      opt.options.lr = lr;
      opt.step(new Map(names.map((n) => [n, grads[net.params.get(n)!.name]])));
      tf.dispose(Object.values(grads));
      const t3 = performance.now();
      if (bare) {
        const l = bareNetworkStep(bare.net, bareOpt!, batch.images);
        l.dataSync();
        l.dispose();
        bare.bare.push(performance.now() - t3);
        bare.whole.push(t3 - t0);
      }
      disposeBatch(batch);

      const done = step + 1;
      reached = done;
      profile.batch += t1 - t0;
      profile.step += t2 - t1;
      profile.update += t3 - t2;
      profile.steps += 1;
      record({
        type: "train",
        step: done,
        lr,
        loss,
        terms,
        grad_norm: gradNorm,
        batch_ms: Math.round(t1 - t0),
        step_ms: Math.round(t2 - t1),
        update_ms: Math.round(t3 - t2),
        tensors: tf.memory().numTensors,
      });

      if (done % config.validation.every === 0 || done === config.steps) {
        const tv = performance.now();
        const v = validate(net, config, valPairs);
        const ms = performance.now() - tv;
        profile.validation_total += ms;
        lastValidation = { type: "val", step: done, ...v, ms: Math.round(ms) };
        record(lastValidation);
        if (!best || v.mma[2] > best.mma3) {
          best = { step: done, mma3: v.mma[2] };
          saveCheckpoint(files.best, net, meta(done));
        }
      }
      // A step is one long synchronous stretch: let the event loop run once, so a Ctrl-C (a signal
      // handler, a macrotask) is seen before the next step rather than at the end of the run.
      await yieldToEventLoop();
      const stopping = opts.shouldStop?.() === true && done < config.steps;
      if (done % config.checkpointEvery === 0 || done === config.steps || stopping) saveLast(done);
      const shown = Object.entries(terms).map(([k, v]) => `${k} ${v!.toFixed(3)}`).join(" ");
      bar.tick(1, `loss ${loss.toFixed(3)} (${shown})${lastValidation ? ` | val MMA@3 ${(100 * lastValidation.mma[2]).toFixed(1)}%` : ""}`);
      if (stopping) {
        status = "interrupted";
        break;
      }
    }
    if (status === "finished") saveCheckpoint(files.final, net, meta(config.steps));
  } finally {
    bar.stop();
    await batches.close();
    opt.dispose();
    net.dispose();
    bareOpt?.dispose();
    bare?.net.dispose();
    teacher?.dispose();
  }
  const n = Math.max(1, profile.steps);
  return {
    status,
    steps: reached,
    lastValidation,
    best,
    profile: {
      batch: profile.batch / n,
      step: profile.step / n,
      update: profile.update / n,
      validation_total: profile.validation_total,
      steps: profile.steps,
      ...(bare && bare.bare.length > 0 ? { bare: { whole_ms: median(bare.whole), bare_ms: median(bare.bare) } } : {}),
    },
  };
}
