// HPatches-protocol evaluation of one method on one sequence folder.
//   npm run eval -- --dataset DIR --method METHOD [--max-keypoints N] [--export-npz TAG] [--json FILE] [--out DIR] [--skip-unreadable] [--quiet]
// METHOD: orb | akaze | kaze | path to a trained checkpoint | desdis:FILE (a patch network on the
// keypoints of --detector kaze | samfeat:CHECKPOINT). Prints the MMA table
// (1..10 px; overall / illumination / viewpoint), the per-split summary and the
// homography-accuracy table; writes them as CSV to --out (default outputs/), the MMA
// curves as HTML (+ PNG when Chromium is available) beside them, and the summary as JSON.
// An unreadable image stops the run: the pairs scored before it are written (tables
// named *-partial-*) and the exit code is 2. --skip-unreadable instead drops the
// pairs that need the image, with a warning on stderr, and finishes.
import * as path from "node:path";
import { DatasetError } from "../lib/data/errors";
import { readHPatches } from "../lib/data/hpatches";
import { initEngine } from "../lib/engine";
import { EvaluationResult, evaluateDataset, UnreadableImageError } from "../lib/eval/evaluate";
import { detectorProblem } from "../lib/desdis/patch-extractor";
import { checkMethod, createExtractor, isPatchMethod, MethodError } from "../lib/eval/methods";
import { isBaselineName } from "../lib/eval/baselines";
import { homographyRows, mmaCurveRows, summaryRows, toCsv, toDataFrame } from "../lib/eval/tables";
import { showFigure } from "../lib/plots/display";
import { mmaFigure } from "../lib/plots/mma";
import { writeFileAtomicSync, writeJsonAtomicSync } from "../lib/util/atomic";
import { integerFlag, outputDir, outputFile, parseCommandLine, positiveFlag, required, runMain, UsageError } from "../lib/util/cli";
import { projectPath } from "../lib/util/project";

const USAGE = [
  "usage: npm run eval -- --dataset DIR --method METHOD [--detector D] [--threshold P] [--max-keypoints N] [--export-npz TAG] [--json FILE] [--out DIR] [--skip-unreadable] [--quiet]",
  "  --dataset DIR        HPatches-layout folder: <seq>/1.<ext>..N.<ext> and H_1_k (i_* illumination, v_* viewpoint)",
  "  --method METHOD      orb | akaze | kaze | a SAMFeat checkpoint file | desdis:FILE (a patch network file)",
  "  --detector D         desdis:FILE only: kaze (default) or samfeat:CHECKPOINT, whose keypoints the patch network describes",
  "  --threshold P        SAMFeat checkpoints: detection probability a keypoint needs (default 0.9, the release's)",
  "  --max-keypoints N    keep the N highest-scoring keypoints per image (default: all)",
  "  --export-npz TAG     also write each image's features as <seq>/<k>.<ext>.TAG (.npz, D2-Net layout)",
  "  --json FILE          write the summary as JSON",
  "  --out DIR            folder of the CSV tables and MMA figure (default outputs/)",
  "  --skip-unreadable    skip the pairs of an unreadable image (warning on stderr) instead of stopping",
  "  --quiet              no progress bar",
].join("\n");

interface Args {
  dataset: string;
  method: string;
  detector?: string;
  threshold?: number;
  maxKeypoints?: number;
  exportNpz?: string;
  json?: string;
  outDir: string;
  skipUnreadable: boolean;
  quiet: boolean;
}

/** Every flag checked here, before the engine starts or any image is read. */
function parseArgs(argv: string[]): Args {
  const v = parseCommandLine(argv, {
    usage: USAGE,
    options: {
      dataset: { type: "string" },
      method: { type: "string" },
      detector: { type: "string" },
      threshold: { type: "string" },
      "max-keypoints": { type: "string" },
      "export-npz": { type: "string" },
      json: { type: "string" },
      out: { type: "string" },
      "skip-unreadable": { type: "boolean", default: false },
      quiet: { type: "boolean", default: false },
    },
  });
  const dataset = required(v.dataset, "--dataset", "the sequence folder");
  const method = checkMethod(required(v.method, "--method", "orb, akaze, kaze or a checkpoint file"));
  const detector = v.detector;
  if (detector !== undefined) {
    if (!isPatchMethod(method)) throw new UsageError(`--detector ${detector}: only a desdis:FILE method takes a detector`);
    const problem = detectorProblem(detector);
    if (problem !== undefined) throw new UsageError(problem);
  }
  const threshold = positiveFlag(v.threshold, "--threshold", true);
  if (threshold !== undefined && (threshold > 1 || isPatchMethod(method) || isBaselineName(method))) {
    throw new UsageError(`--threshold ${v.threshold}: a probability in [0, 1], for a SAMFeat checkpoint only`);
  }
  const maxKeypoints = integerFlag(v["max-keypoints"], "--max-keypoints");
  const exportNpz = v["export-npz"];
  if (exportNpz !== undefined && !/^[A-Za-z0-9_-]+$/.test(exportNpz)) {
    throw new UsageError(`--export-npz ${exportNpz}: expected a plain tag (letters, digits, _ or -)`);
  }
  const json = v.json === undefined ? undefined : outputFile(v.json, "--json");
  const outDir = path.resolve(outputDir(v.out ?? projectPath("outputs"), "--out"));
  return { dataset, method, detector, threshold, maxKeypoints, exportNpz, json, outDir, skipUnreadable: v["skip-unreadable"], quiet: v.quiet };
}

const slug = (s: string) => s.replace(/[^A-Za-z0-9_.-]+/g, "_");

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  readHPatches(args.dataset); // the whole layout (names, homographies) before any work
  await initEngine({ quiet: args.quiet });
  const extractor = await createExtractor(args.method, { maxKeypoints: args.maxKeypoints, detector: args.detector, threshold: args.threshold });
  let result: EvaluationResult;
  try {
    result = await evaluateDataset(args.dataset, extractor, {
      maxKeypoints: args.maxKeypoints,
      exportNpz: args.exportNpz,
      quiet: args.quiet,
      skipUnreadable: args.skipUnreadable,
      onWarning: (m) => console.error(`warning: ${m}`),
    });
  } catch (e) {
    if (!(e instanceof UnreadableImageError)) throw e;
    // Keep what was computed: the tables of the pairs before the unreadable image.
    const stem = await report(args, e.partial, extractor.name, "-partial");
    throw new DatasetError(`${e.message}; partial results in ${stem}-*; rerun with --skip-unreadable to skip such pairs`);
  } finally {
    extractor.dispose?.();
  }
  await report(args, result, extractor.name, "");
  if (args.exportNpz) console.log(`wrote features as <seq>/<k>.<ext>.${args.exportNpz} under ${args.dataset}`);
}

/** Prints the tables and writes them (CSV, figure, JSON); returns the path stem of the files. */
async function report(args: Args, result: EvaluationResult, name: string, tag: string): Promise<string> {
  const { summary } = result;
  const curve = toDataFrame(mmaCurveRows(summary));
  const summaryDf = toDataFrame(summaryRows([summary]));
  const homDf = toDataFrame(homographyRows([summary]));
  console.log(`\nMMA (%) of ${summary.method} on ${summary.dataset}: ${summary.pairs} pairs (${summary.pairs_i} i, ${summary.pairs_v} v)`);
  if (result.unreadable.length > 0) console.log(`unreadable images: ${result.unreadable.map((u) => u.file).join(", ")}`);
  if (summary.pairs > 0) {
    curve.print();
    console.log(`features per image ${summary.features.toFixed(1)}, matches per pair ${summary.matches.toFixed(1)}, pairs without matches ${summary.zero_match_pairs}`);
    summaryDf.print();
    console.log("homography accuracy (%): mean corner error of the RANSAC estimate <= t");
    homDf.print();
  }
  const stem = path.join(args.outDir, `eval${tag}-${slug(path.basename(name))}-${slug(path.basename(summary.dataset))}`);
  writeFileAtomicSync(`${stem}-mma.csv`, toCsv(curve));
  writeFileAtomicSync(`${stem}-summary.csv`, toCsv(summaryDf));
  writeFileAtomicSync(`${stem}-homography.csv`, toCsv(homDf));
  console.log(`wrote ${path.relative(process.cwd(), stem)}-{mma,summary,homography}.csv`);
  if (summary.pairs > 0) {
    await showFigure(mmaFigure([summary], { title: `MMA of ${summary.method} on ${summary.dataset}` }), { name: `${path.basename(stem)}-mma`, outDir: args.outDir });
  }
  const json = args.json && tag ? args.json.replace(/(\.json)?$/, `${tag}$1`) : args.json;
  if (json) {
    writeJsonAtomicSync(json, { ...summary, unreadable: result.unreadable.map((u) => u.file) });
    console.log(`wrote ${json}`);
  }
  return path.relative(process.cwd(), stem) || stem;
}

runMain(main, [DatasetError, MethodError]);
