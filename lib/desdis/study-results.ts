// The scores of the DesDis study's runs and its tables: held-out patch scores (FPR95 and the three
// HPatches-style mAPs, from each run's last held-out evaluation), MMA of the network describing
// KAZE keypoints on each test set (kept as <run>/eval/<dataset>.json, computed once), speed (from
// `npm run bench-patches -- --out FILE`), then one row per network over its seeds, mean ± sd.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { RgbImage } from "../data/image";
import { evaluateDataset } from "../eval/evaluate";
import type { EvalSummary } from "../eval/metrics";
import { differenceWithSpread, formatMeanSd, MeanSd, meanSd, SpreadDifference } from "../eval/seeds";
import { datasetName, readSummary } from "../training/results";
import { writeJsonAtomicSync } from "../util/atomic";
import { progressBar } from "../util/progress";
import { projectPath } from "../util/project";
import { networkTag } from "./config";
import { DISTILL_FILES, readDistillMetrics } from "./distill";
import { loadPatchNetwork } from "./load-network";
import { createPatchDetector, patchExtractor, PatchDetector, ScaledKeypoints } from "./patch-extractor";
import type { HeldOutSet } from "./held-out";
import { evaluateHeldOut, PatchScores } from "./patch-eval";
import type { PlannedRun, StudyCell } from "./study";

/** The held-out scores of a run's last evaluation (the distill loop evaluates at the last step). */
export function finalPatchScores(run: Pick<PlannedRun, "dir" | "config">): PatchScores {
  const last = readDistillMetrics(run.dir).filter((r) => r.type === "val" && r.step === run.config.steps);
  if (last.length === 0) throw new Error(`${run.dir}: no held-out evaluation at step ${run.config.steps} in ${DISTILL_FILES.metrics}`);
  return last[last.length - 1] as PatchScores;
}

/**
 * A detector that detects each image once: the study describes the same keypoints with many
 * networks, and KAZE costs more than a light network. Keyed by the image's pixels.
 */
export function memoizedDetector(detector: PatchDetector): PatchDetector {
  const seen = new Map<string, ScaledKeypoints>();
  const key = (img: RgbImage, max: number) => `${img.width}x${img.height}:${max}:${crypto.createHash("sha1").update(img.data).digest("hex")}`;
  return {
    name: detector.name,
    async detect(img, maxKeypoints) {
      const k = key(img, maxKeypoints);
      let found = seen.get(k);
      if (!found) seen.set(k, (found = await detector.detect(img, maxKeypoints)));
      return found;
    },
    dispose: () => detector.dispose?.(),
  };
}

/** The file a patch network's MMA summary on `dataset` is kept in: <dir>/eval/<dataset>.json. */
export const patchSummaryFile = (dir: string, dataset: string) => path.join(dir, "eval", `${datasetName(dataset)}.json`);

/** An evaluation of one network on one test set. */
export interface PatchEvaluation {
  /** where the summary is kept */
  dir: string;
  /** the network's weights */
  weights: string;
  label: string;
}

/**
 * MMA of every network on every test set with KAZE keypoints (the kept summary when there is one),
 * one progress bar; the detector runs once per image.
 */
export async function evaluatePatchNetworks(items: PatchEvaluation[], datasets: string[], opts: { quiet?: boolean; maxKeypoints?: number } = {}): Promise<void> {
  const todo = items.flatMap((item) => datasets.map((dataset) => ({ item, dataset }))).filter(({ item, dataset }) => !readSummary(patchSummaryFile(item.dir, dataset)));
  if (todo.length === 0) return;
  const detector = memoizedDetector(await createPatchDetector("kaze"));
  const bar = progressBar("desdis MMA", todo.length, { quiet: opts.quiet });
  try {
    for (const { item, dataset } of todo) {
      if (!fs.existsSync(item.weights)) throw new Error(`${item.weights}: no weights to evaluate ${item.label} with`);
      const { net } = loadPatchNetwork(item.weights);
      const extractor = patchExtractor(net, detector, item.label, opts.maxKeypoints);
      try {
        const summary = { ...(await evaluateDataset(dataset, extractor, { quiet: true })).summary, method: item.label, dataset: path.relative(projectPath(), path.resolve(dataset)) };
        writeJsonAtomicSync(patchSummaryFile(item.dir, dataset), summary);
      } finally {
        net.dispose(); // not the extractor's dispose: the detector serves every network
      }
      bar.tick(1, `${item.label} on ${datasetName(dataset)}`);
    }
  } finally {
    bar.stop();
    detector.dispose?.();
  }
}

/** A run's kept MMA summary on `dataset`; throws naming the run when it was never evaluated. */
export function patchSummary(dir: string, dataset: string): EvalSummary {
  const s = readSummary(patchSummaryFile(dir, dataset));
  if (!s) throw new Error(`${path.basename(dir)}: not evaluated on ${datasetName(dataset)} (run npm run desdis-study)`);
  return s;
}

/** Overall MMA at `threshold` px, as a fraction. */
export function mmaAt(s: EvalSummary, threshold = 3): number | null {
  const i = s.thresholds.indexOf(threshold);
  if (i < 0) throw new Error(`${s.method}: no ${threshold} px threshold`);
  return s.mma[i];
}

/** One line of `npm run bench-patches -- --out FILE` (the file holds an array of them). */
export interface PatchSpeed {
  network: string;
  params: number;
  ms_per_1000_patches: number;
  ms_per_image: number;
  detector: string;
  detector_ms: number;
  keypoints: number;
  backend: string;
  threads: number;
}

export function readSpeeds(file: string): PatchSpeed[] {
  if (!fs.existsSync(file)) throw new Error(`${file}: no speed measurements (run npm run bench-patches -- --out ${path.relative(projectPath(), file)})`);
  return JSON.parse(fs.readFileSync(file, "utf8")) as PatchSpeed[];
}

export const STUDY_METRICS = ["fpr95", "verification", "matching", "retrieval"] as const;

/** One network of the study over its seeds: every score as mean ± sd (fractions). */
export interface StudyRow {
  /** e.g. "light student (hardnet)", "official DesDis-32" */
  label: string;
  role: StudyCell["role"] | "official";
  loss: StudyCell["loss"] | null;
  network: string;
  form: string | null;
  lambda: number | null;
  seeds: number[];
  /** the run folders (official: the folder its scores are kept in), one per seed */
  dirs: string[];
  scores: Record<(typeof STUDY_METRICS)[number], MeanSd>;
  /** overall MMA@3 per test set name */
  mma3: Record<string, MeanSd>;
  speed?: PatchSpeed;
}

const ROLE_LABEL: Record<StudyCell["role"], string> = { teacher: "teacher", equal: "equal student", light: "light student", "light-alone": "light alone" };

/** A row's label: role, loss and, off the default regulariser, its form and lambda. */
export function rowLabel(cell: StudyCell, network: string): string {
  const reg = cell.form === undefined ? "" : `, ${cell.form} λ=${cell.lambda}`;
  return `${ROLE_LABEL[cell.role]} (${cell.loss}, ${network}${reg})`;
}

/** Runs grouped into rows (same cell but for the seed), every score over the seeds. */
export function studyRows(runs: PlannedRun[], datasets: string[], speeds: PatchSpeed[] = []): StudyRow[] {
  const groups = new Map<string, PlannedRun[]>();
  for (const run of runs) {
    const c = run.cell;
    const k = [c.role, c.loss, networkTag(run.config.network), c.form ?? "", c.lambda ?? ""].join("|");
    groups.set(k, [...(groups.get(k) ?? []), run]);
  }
  return [...groups.values()].map((group) => {
    const { cell, config } = group[0];
    const network = networkTag(config.network);
    const patch = group.map(finalPatchScores);
    return {
      label: rowLabel(cell, network),
      role: cell.role,
      loss: cell.loss,
      network,
      form: cell.form ?? null,
      lambda: cell.lambda ?? null,
      seeds: group.map((r) => r.cell.seed),
      dirs: group.map((r) => r.dir),
      scores: Object.fromEntries(STUDY_METRICS.map((m) => [m, meanSd(patch.map((p) => p[m]))])) as StudyRow["scores"],
      mma3: Object.fromEntries(datasets.map((d) => [datasetName(d), meanSd(group.map((r) => mmaAt(patchSummary(r.dir, d))))])),
      speed: speeds.find((s) => s.network === network),
    };
  });
}

/**
 * A student row minus a reference row of the same loss, per score: FPR95 is better lower, the rest
 * higher. The reference is the teacher, or for a light student also the light network trained
 * alone (did distillation add anything to the architecture?).
 */
export interface StudentComparison {
  student: string;
  reference: string;
  metric: string;
  difference: SpreadDifference;
  /** the student is better by more than the larger seed sd */
  studentBetter: boolean;
}

/** One line: "light student (...) − teacher (...), fpr95: −1.20 pp (larger seed sd 0.80): student better beyond the seed spread". */
export function comparisonText(c: StudentComparison): string {
  const d = c.difference;
  const verdict =
    d.spread === null ? "seed spread unknown" : !d.exceedsSpread ? "within the seed spread" : c.studentBetter ? "student better beyond the seed spread" : "student worse beyond the seed spread";
  return `${c.student} − ${c.reference}, ${c.metric}: ${d.difference >= 0 ? "+" : "−"}${Math.abs(d.difference).toFixed(2)} pp (larger seed sd ${d.spread === null ? "?" : d.spread.toFixed(2)}): ${verdict}`;
}

function compareRows(s: StudyRow, ref: StudyRow): StudentComparison[] {
  const pairs: [string, MeanSd, MeanSd, number][] = [
    ...STUDY_METRICS.map((m) => [m, s.scores[m], ref.scores[m], m === "fpr95" ? -1 : 1] as [string, MeanSd, MeanSd, number]),
    ...Object.keys(s.mma3).map((d) => [`MMA@3 ${d}`, s.mma3[d], ref.mma3[d], 1] as [string, MeanSd, MeanSd, number]),
  ];
  return pairs.map(([metric, a, b, better]) => {
    const difference = differenceWithSpread(a, b);
    return { student: s.label, reference: ref.label, metric, difference, studentBetter: difference.exceedsSpread === true && Math.sign(difference.difference) === better };
  });
}

/** Every student of the main grid against its teacher, and every light student against the light network alone. */
export function studentComparisons(rows: StudyRow[]): StudentComparison[] {
  const out: StudentComparison[] = [];
  for (const s of rows.filter((r) => (r.role === "equal" || r.role === "light") && r.form !== null)) {
    const teacher = rows.find((r) => r.role === "teacher" && r.loss === s.loss);
    if (teacher) out.push(...compareRows(s, teacher));
    const alone = s.role === "light" ? rows.find((r) => r.role === "light-alone" && r.loss === s.loss && r.network === s.network) : undefined;
    if (alone) out.push(...compareRows(s, alone));
  }
  return out;
}

/** The released DesDis students (data/desdis-weights), rows of both tables beside the study's networks. */
export const OFFICIAL_WIDTHS = [8, 16, 24, 32];
export const officialWeights = (width: number) => projectPath("data", "desdis-weights", `desdis-${width}.safetensors`);
/** Where the study keeps an official network's scores: <out>/official/desdis-<d>/. */
export const officialDir = (out: string, width: number) => path.join(out, "official", `desdis-${width}`);

/** The held-out scores of the official network of `width`, kept as <dir>/held-out.json (computed once, needs the set). */
export function officialPatchScores(dir: string, width: number, heldOut?: HeldOutSet): PatchScores {
  const file = path.join(dir, "held-out.json");
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, "utf8")) as PatchScores;
  if (!heldOut) throw new Error(`${file}: the official DesDis-${width} was not scored on the held-out set (run npm run desdis-study)`);
  const { net } = loadPatchNetwork(officialWeights(width));
  try {
    const scores = evaluateHeldOut(net, heldOut);
    writeJsonAtomicSync(file, scores);
    return scores;
  } finally {
    net.dispose();
  }
}

/** The official network of `width` as a row, its scores kept in `dir` (one set of weights: no seed spread). */
export function officialRow(dir: string, width: number, datasets: string[], speeds: PatchSpeed[] = []): StudyRow {
  const scores = officialPatchScores(dir, width);
  const network = `desdis${width}`;
  return {
    label: `official DesDis-${width}`,
    role: "official",
    loss: null,
    network,
    form: null,
    lambda: null,
    seeds: [],
    dirs: [dir],
    scores: Object.fromEntries(STUDY_METRICS.map((m) => [m, meanSd([scores[m]])])) as StudyRow["scores"],
    mma3: Object.fromEntries(datasets.map((d) => [datasetName(d), meanSd([mmaAt(patchSummary(dir, d))])])),
    speed: speeds.find((s) => s.network === network),
  };
}

/** The table as plain records: scores in % as "mean ± sd", speed in ms. */
export function studyTableRecords(rows: StudyRow[]): Record<string, string | number | null>[] {
  return rows.map((r) => ({
    network: r.label,
    seeds: r.seeds.length === 0 ? "official" : r.seeds.length,
    FPR95: formatMeanSd(r.scores.fpr95),
    "verification mAP": formatMeanSd(r.scores.verification),
    "matching mAP": formatMeanSd(r.scores.matching),
    "retrieval mAP": formatMeanSd(r.scores.retrieval),
    ...Object.fromEntries(Object.entries(r.mma3).map(([d, m]) => [`MMA@3 ${d}`, formatMeanSd(m)])),
    "ms / 1000 patches": r.speed?.ms_per_1000_patches ?? null,
    "ms / 480x640 image": r.speed?.ms_per_image ?? null,
  }));
}
