// Finding training runs again. A run is a folder holding config.json (the fully resolved
// TrainConfig) and metrics.jsonl (see trainer.ts); it is finished when final.safetensors exists.
// Runs are looked for under one or more roots, by default outputs/runs (runs made here) and
// data/runs (results shipped with the repository). A run is identified by its config, never by its
// folder name: two folders with canonically equal configs hold the same run.
//
// Runs that differ only by their seed form a seed group: the unit the ablation tables average over.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { canonicalJson } from "../teachers/cache";
import { projectPath } from "../util/project";
import { RowName, runKey, TeacherName, TrainConfig } from "./config";
import { readMetrics, readRunConfig, RUN_FILES, TrainRecord, ValRecord } from "./trainer";

/** Where runs are looked for, in order of preference (a run found in both is taken from the first). */
export const DEFAULT_RUN_ROOTS = [projectPath("outputs", "runs"), projectPath("data", "runs")];

export interface RunInfo {
  /** The run folder. */
  dir: string;
  /** The folder's name (`<row>-<teacher>-w<width>-s<size>-b<batch>-n<steps>-seed<seed>-<hash>` by default). */
  name: string;
  config: TrainConfig;
  /** runKey(config): equal configs, equal keys. */
  key: string;
  /** Every step is done: final.safetensors exists, or (a shipped run whose weights were left out) the
   * training records reach the last step. */
  finished: boolean;
  /** final.safetensors, when the run keeps its weights. */
  weights?: string;
  /** The training records, one per step, in step order. */
  train: TrainRecord[];
  /** The validation records, in step order. */
  val: ValRecord[];
  /** The last step with a record (0 for a run that has not logged a step yet). */
  lastStep: number;
  /** Legend label: the configuration without the seed, then the seed. */
  label: string;
}

export interface RunFilter {
  row?: RowName | RowName[];
  teacher?: TeacherName | TeacherName[];
  seed?: number | number[];
  width?: number;
  size?: number;
  batch?: number;
  steps?: number;
  /** true: finished runs only; false: unfinished only; absent: both. */
  finished?: boolean;
}

export interface RunSearchOptions {
  /** Folders holding run folders; default DEFAULT_RUN_ROOTS (missing roots are skipped). */
  roots?: string[];
}

/** Read one run folder. Throws naming the file when its config.json is unreadable or invalid. */
export function readRun(dir: string): RunInfo {
  const config = readRunConfig(dir);
  const records = readMetrics(dir);
  const byStep = (a: { step: number }, b: { step: number }) => a.step - b.step;
  const train = records.filter((r): r is TrainRecord => r.type === "train").sort(byStep);
  const val = records.filter((r): r is ValRecord => r.type === "val").sort(byStep);
  const final = path.join(dir, RUN_FILES.final);
  const weights = fs.existsSync(final) ? final : undefined;
  return {
    dir,
    name: path.basename(dir),
    config,
    key: runKey(config),
    finished: weights !== undefined || train.at(-1)?.step === config.steps,
    ...(weights ? { weights } : {}),
    train,
    val,
    lastStep: records.reduce((m, r) => Math.max(m, r.step), 0),
    label: `${configLabel(config)} seed ${config.seed}`,
  };
}

/**
 * Every run under the roots, in root order then folder-name order. Folders without config.json
 * are not runs and are skipped; a run present under several roots (same config) is kept once,
 * from the first root, preferring a finished copy.
 */
export function listRuns(opts: RunSearchOptions = {}): RunInfo[] {
  const byKey = new Map<string, RunInfo[]>();
  const order: string[] = [];
  for (const root of opts.roots ?? DEFAULT_RUN_ROOTS) {
    if (!fs.existsSync(root)) continue;
    for (const entry of fs.readdirSync(root, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const dir = path.join(root, entry.name);
      if (!entry.isDirectory() || !fs.existsSync(path.join(dir, RUN_FILES.config))) continue;
      const run = readRun(dir);
      // The key is a short hash: equal keys are confirmed by comparing the canonical configs.
      const id = `${run.key}:${canonicalJson(run.config)}`;
      if (!byKey.has(id)) {
        byKey.set(id, []);
        order.push(id);
      }
      byKey.get(id)!.push(run);
    }
  }
  return order.map((id) => {
    const copies = byKey.get(id)!;
    return copies.find((r) => r.finished) ?? copies[0];
  });
}

/** Runs matching every field given in `filter` (array fields: any of the values). */
export function findRuns(filter: RunFilter = {}, opts: RunSearchOptions = {}): RunInfo[] {
  const oneOf = <T>(want: T | T[] | undefined, value: T) => want === undefined || (Array.isArray(want) ? want.includes(value) : want === value);
  return listRuns(opts).filter(
    ({ config: c, finished }) =>
      oneOf(filter.row, c.row) &&
      oneOf(filter.teacher, c.teacher) &&
      oneOf(filter.seed, c.seed) &&
      oneOf(filter.width, c.network.width) &&
      oneOf(filter.size, c.data.size) &&
      oneOf(filter.batch, c.data.batch) &&
      oneOf(filter.steps, c.steps) &&
      oneOf(filter.finished, finished),
  );
}

/** The run whose resolved config equals `config` (canonical JSON equality), or undefined. */
export function findRun(config: TrainConfig, opts: RunSearchOptions = {}): RunInfo | undefined {
  const wanted = canonicalJson(config);
  return listRuns(opts).find((r) => canonicalJson(r.config) === wanted);
}

export interface SeedGroup {
  /** Hash of the config without its seed: equal for runs that differ only by seed. */
  key: string;
  /** Legend label of the configuration (no seed). */
  label: string;
  /** The shared config, with the first run's seed. */
  config: TrainConfig;
  /** The runs, in seed order. */
  runs: RunInfo[];
  seeds: number[];
}

/** The config with the run seed taken out (validation.seed is fixed for every run and stays). */
function withoutSeed(config: TrainConfig): Omit<TrainConfig, "seed"> {
  const { seed: _, ...rest } = config;
  return rest;
}

/** Group runs that differ only by their seed; groups in order of their first run. */
export function seedGroups(runs: RunInfo[]): SeedGroup[] {
  const groups = new Map<string, RunInfo[]>();
  for (const run of runs) {
    const id = canonicalJson(withoutSeed(run.config));
    if (!groups.has(id)) groups.set(id, []);
    groups.get(id)!.push(run);
  }
  return [...groups.entries()].map(([id, members]) => {
    const sorted = [...members].sort((a, b) => a.config.seed - b.config.seed);
    return {
      key: crypto.createHash("sha256").update(id).digest("hex").slice(0, 10),
      label: configLabel(sorted[0].config),
      config: sorted[0].config,
      runs: sorted,
      seeds: sorted.map((r) => r.config.seed),
    };
  });
}

/**
 * A short legend label of a config without its seed, e.g. "full / sam (w0.5 s192 b4 n600)"; a dense
 * student's adds its teacher and regulariser: "... dense student of 1a2b3c4d (abs, lambda 1)".
 */
export function configLabel(c: TrainConfig): string {
  const base = `${c.row} / ${c.teacher} (w${c.network.width} s${c.data.size} b${c.data.batch} n${c.steps})`;
  return c.distill ? `${base} dense student of ${c.distill.teacher.sha256.slice(0, 8)} (${c.distill.form}, lambda ${c.distill.lambda})` : base;
}
