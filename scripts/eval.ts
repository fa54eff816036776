// HPatches-protocol evaluation of one method on one sequence folder.
//   npm run eval -- --dataset DIR --method METHOD [--max-keypoints N] [--export-npz EXT] [--json OUT] [--out DIR] [--quiet]
// METHOD: orb | akaze | kaze | path to a trained checkpoint. Prints the MMA table
// (1..10 px; overall / illumination / viewpoint), the per-split summary and the
// homography-accuracy table; writes them as CSV to --out (default outputs/), the MMA
// curves as HTML (+ PNG when Chromium is available) beside them, and the summary as JSON.
import * as path from "node:path";
import { DatasetError } from "../lib/data/errors";
import { readHPatches } from "../lib/data/hpatches";
import { initEngine } from "../lib/engine";
import { evaluateDataset } from "../lib/eval/evaluate";
import { createExtractor, MethodError } from "../lib/eval/methods";
import { homographyRows, mmaCurveRows, summaryRows, toCsv, toDataFrame } from "../lib/eval/tables";
import { showFigure } from "../lib/plots/display";
import { mmaFigure } from "../lib/plots/mma";
import { writeFileAtomicSync, writeJsonAtomicSync } from "../lib/util/atomic";
import { readFlags, runMain, UsageError } from "../lib/util/cli";

const ROOT = path.resolve(__dirname, "..");
const USAGE = "usage: npm run eval -- --dataset DIR --method METHOD [--max-keypoints N] [--export-npz EXT] [--json OUT] [--out DIR] [--quiet]";


interface Args {
  dataset: string;
  method: string;
  maxKeypoints?: number;
  exportNpz?: string;
  json?: string;
  outDir: string;
  quiet: boolean;
}

function parseArgs(argv: string[]): Args {
  const { values, switches } = readFlags(argv, {
    valued: ["--dataset", "--method", "--max-keypoints", "--export-npz", "--json", "--out"],
    switches: ["--quiet"],
    usage: USAGE,
  });
  const quiet = switches.has("--quiet");
  if (!values["--dataset"]) throw new UsageError(`--dataset is required (${USAGE})`);
  if (!values["--method"]) throw new UsageError(`--method is required (${USAGE})`);
  let maxKeypoints: number | undefined;
  if (values["--max-keypoints"] !== undefined) {
    maxKeypoints = Number(values["--max-keypoints"]);
    if (!Number.isInteger(maxKeypoints) || maxKeypoints <= 0) {
      throw new UsageError(`--max-keypoints must be a positive integer, got "${values["--max-keypoints"]}"`);
    }
  }
  const exportNpz = values["--export-npz"];
  if (exportNpz !== undefined && !/^[A-Za-z0-9_-]+$/.test(exportNpz)) {
    throw new UsageError(`--export-npz must be a plain tag (letters, digits, _ or -), got "${exportNpz}"`);
  }
  return { dataset: values["--dataset"], method: values["--method"], maxKeypoints, exportNpz, json: values["--json"], outDir: path.resolve(values["--out"] ?? path.join(ROOT, "outputs")), quiet };
}

const slug = (s: string) => s.replace(/[^A-Za-z0-9_.-]+/g, "_");

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  readHPatches(args.dataset); // validate the whole layout before any work
  await initEngine({ quiet: args.quiet });
  const extractor = await createExtractor(args.method, { maxKeypoints: args.maxKeypoints });
  const { summary } = await evaluateDataset(args.dataset, extractor, {
    maxKeypoints: args.maxKeypoints,
    exportNpz: args.exportNpz,
    quiet: args.quiet,
  });
  extractor.dispose?.();

  const curve = toDataFrame(mmaCurveRows(summary));
  const summaryDf = toDataFrame(summaryRows([summary]));
  const homDf = toDataFrame(homographyRows([summary]));
  console.log(`\nMMA (%) of ${summary.method} on ${summary.dataset}: ${summary.pairs} pairs (${summary.pairs_i} i, ${summary.pairs_v} v)`);
  curve.print();
  console.log(`features per image ${summary.features.toFixed(1)}, matches per pair ${summary.matches.toFixed(1)}, pairs without matches ${summary.zero_match_pairs}`);
  summaryDf.print();
  console.log("homography accuracy (%): mean corner error of the RANSAC estimate <= t");
  homDf.print();

  const stem = path.join(args.outDir, `eval-${slug(path.basename(extractor.name))}-${slug(path.basename(summary.dataset))}`);
  writeFileAtomicSync(`${stem}-mma.csv`, toCsv(curve));
  writeFileAtomicSync(`${stem}-summary.csv`, toCsv(summaryDf));
  writeFileAtomicSync(`${stem}-homography.csv`, toCsv(homDf));
  console.log(`wrote ${path.relative(process.cwd(), stem)}-{mma,summary,homography}.csv`);
  await showFigure(mmaFigure([summary], { title: `MMA of ${summary.method} on ${summary.dataset}` }), { name: `${path.basename(stem)}-mma`, outDir: args.outDir });
  if (args.json) {
    writeJsonAtomicSync(args.json, summary);
    console.log(`wrote ${args.json}`);
  }
  if (args.exportNpz) console.log(`wrote features as <seq>/<k>.<ext>.${args.exportNpz} under ${args.dataset}`);
}

runMain(main, [DatasetError, MethodError]);
