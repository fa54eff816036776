// What every training run folder shares, whatever it trains (SAMFeat, patch descriptors):
//   config.json    the fully resolved config, written once; a resumed run must have the same one
//   metrics.jsonl  one JSON record per line, each with the step it belongs to; on resume the records
//                  after the checkpoint's step are dropped (those steps are done again)
// plus the numbers every loop checks before an update (finite losses, gradient norm).
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { canonicalJson } from "../teachers/cache";
import { writeFileAtomicSync, writeJsonAtomicSync } from "./atomic";

/** A run diverged (a non-finite loss or gradient): the message names the step and the term. */
export class DivergenceError extends Error {}

/** The config of an existing run folder, parsed and checked by `check` (which throws naming the field). */
export function readFolderConfig<C>(file: string, check: (c: C, source: string) => C): C {
  let parsed: C;
  try {
    parsed = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`${file}: cannot read the run's config (${(e as Error).message})`);
  }
  return check(parsed, file);
}

/**
 * Make `dir` the folder of a run with `config`: a new folder gets config.json; an existing one needs
 * `resume` and an equal config (canonical JSON), else the error says what to do.
 */
export function openRunFolder<C>(dir: string, configFile: string, config: C, resume: boolean, check: (c: C, source: string) => C): void {
  const file = path.join(dir, configFile);
  if (fs.existsSync(file)) {
    if (!resume) throw new Error(`${dir}: a run already exists there (continue it with --resume, or choose another --out)`);
    if (canonicalJson(readFolderConfig(file, check)) !== canonicalJson(config)) {
      throw new Error(`${file}: the run there was made with another config; --resume continues a run only with the same flags`);
    }
    return;
  }
  fs.mkdirSync(dir, { recursive: true });
  writeJsonAtomicSync(file, config);
}

/** Every record of a JSON-lines file; a line cut by a kill is dropped (its step is done again on resume). */
export function readJsonLines<T>(file: string): T[] {
  if (!fs.existsSync(file)) return [];
  const out: T[] = [];
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // cut by a kill
    }
  }
  return out;
}

/** Keep the records of steps <= `step` (what the checkpoint being resumed had seen), atomically. */
export function truncateJsonLines(file: string, step: number): void {
  const kept = readJsonLines<{ step: number }>(file).filter((r) => r.step <= step);
  writeFileAtomicSync(file, kept.map((r) => JSON.stringify(r) + "\n").join(""));
}

export function appendJsonLine(file: string, record: unknown): void {
  fs.appendFileSync(file, JSON.stringify(record) + "\n");
}

/** The L2 norm over all gradients. */
export function gradientNorm(grads: tf.NamedTensorMap): number {
  return tf.tidy(() => tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g))))).dataSync()[0]);
}

/**
 * What is not finite among the step's numbers, as words for the stop message ("loss term 'des' is
 * NaN", "the gradient norm is Infinity"), or undefined when everything is finite.
 */
export function nonFinite(terms: Record<string, number | undefined>, loss: number, gradNorm: number): string | undefined {
  const bad = Object.entries(terms).filter(([, v]) => !Number.isFinite(v));
  if (bad.length > 0) return `loss term ${bad.map(([k, v]) => `'${k}' is ${v}`).join(", ")}`;
  if (!Number.isFinite(loss)) return `the total loss is ${loss}`;
  if (!Number.isFinite(gradNorm)) return `the gradient norm is ${gradNorm}`;
  return undefined;
}

/** Resolve after the event loop has run its pending macrotasks (signal handlers, I/O callbacks). */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
