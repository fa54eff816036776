// The DesDis study as the workbook and `npm run desdis-study` see it: the grid's runs (trained first
// when asked), the official DesDis weights beside them, every score, and the tables' rows. At the
// quick scale the notebook trains its tiny grid live; at the default scale it reads the finished
// runs (outputs/desdis, then the shipped data/desdis), never trains, and names what is missing.
import * as fs from "node:fs";
import * as path from "node:path";
import { initEngine } from "../engine/index";
import { ScaleName, workbookScale } from "../training/scales";
import { projectPath, PROJECT_ROOT } from "../util/project";
import { prepareHeldOut } from "./prepare";
import { planStudy, PlannedRun, STUDY_SCALES, studyCells, StudyOptions, trainStudy } from "./study";
import {
  evaluatePatchNetworks,
  officialDir,
  officialPatchScores,
  officialRow,
  officialWeights,
  OFFICIAL_WIDTHS,
  PatchSpeed,
  readSpeeds,
  StudentComparison,
  studentComparisons,
  StudyRow,
  studyRows,
} from "./study-results";

export interface DesdisStudyOptions {
  scale?: ScaleName;
  /** The grid (default: the scale's). */
  options?: StudyOptions;
  /** Train what is not finished (default: only at the quick scale). */
  train?: boolean;
  /** Where missing runs and scores go (default: the scale's first root, e.g. outputs/desdis). */
  out?: string;
  /** MMA test sets (default: the scale's); [] for none. */
  datasets?: string[];
  cacheRoot?: string;
  /** The speed file (default: speed.json in the first root that has one). */
  speedFile?: string;
  quiet?: boolean;
  shouldStop?: () => boolean;
}

export interface DesdisStudy {
  status: "finished" | "interrupted";
  /** Every run of the grid. */
  runs: PlannedRun[];
  trained: number;
  /** The main grid's rows, then the official weights. */
  rows: StudyRow[];
  /** Light students of the sweep's teacher loss, one row per regulariser form and lambda. */
  sweep: StudyRow[];
  comparisons: StudentComparison[];
  datasets: string[];
  roots: string[];
  speeds?: PatchSpeed[];
}

export async function desdisStudy(o: DesdisStudyOptions = {}): Promise<DesdisStudy> {
  const scaleName = o.scale ?? workbookScale();
  const scale = STUDY_SCALES[scaleName];
  const options = o.options ?? scale.options;
  const out = path.resolve(o.out ?? scale.roots[0]);
  const roots = [out, ...scale.roots.map((r) => path.resolve(r)).filter((r) => r !== out)];
  const datasets = (o.datasets ?? scale.datasets).map((d) => path.resolve(PROJECT_ROOT, d)); // a notebook's cwd is notebooks/
  const cacheRoot = o.cacheRoot ?? projectPath("data", "cache");
  await initEngine({ quiet: true });

  let runs: PlannedRun[];
  let trained = 0;
  if (o.train ?? scaleName === "quick") {
    const r = await trainStudy(options, { out, roots, cacheRoot }, { quiet: o.quiet, shouldStop: o.shouldStop });
    if (r.status === "interrupted") return { status: "interrupted", runs: r.runs, trained: r.trained, rows: [], sweep: [], comparisons: [], datasets, roots };
    ({ runs, trained } = r);
  } else {
    const plan = planStudy(studyCells(options), options, roots, out);
    const missing = [...plan.runs.filter((r) => !r.finished).map((r) => path.basename(r.dir)), ...plan.waiting.map((c) => `the ${c.role} student of the ${c.loss} teacher, seed ${c.seed}`)];
    runs = plan.runs.filter((r) => r.finished);
    if (runs.length === 0) throw new Error(`no finished run of the ${scaleName} DesDis study; train it with npm run desdis-study`);
    // Shown with what is finished, never silently: the missing runs are counted and named.
    if (missing.length > 0) console.log(`shown without ${missing.length} unfinished run(s) of the study (e.g. ${missing[0]}); npm run desdis-study trains them`);
  }

  // The official weights: scores kept in the first root that has them, else computed into `out`.
  const officialDirs = OFFICIAL_WIDTHS.map((w) => roots.map((r) => officialDir(r, w)).find((d) => fs.existsSync(path.join(d, "held-out.json"))) ?? officialDir(out, w));
  if (OFFICIAL_WIDTHS.some((w, i) => !fs.existsSync(path.join(officialDirs[i], "held-out.json")))) {
    const heldOut = (await prepareHeldOut(runs[0].config.heldOut, cacheRoot, { quiet: o.quiet })).set;
    OFFICIAL_WIDTHS.forEach((w, i) => officialPatchScores(officialDirs[i], w, heldOut));
  }
  const main = runs.filter((r) => !r.cell.sweep);
  await evaluatePatchNetworks(
    [
      ...main.map((r) => ({ dir: r.dir, weights: path.join(r.dir, "final.safetensors"), label: path.basename(r.dir) })),
      ...OFFICIAL_WIDTHS.map((w, i) => ({ dir: officialDirs[i], weights: officialWeights(w), label: `official DesDis-${w}` })),
    ],
    datasets,
    { quiet: o.quiet, maxKeypoints: scale.maxKeypoints },
  );
  const speedFile = o.speedFile ?? roots.map((r) => path.join(r, "speed.json")).find((f) => fs.existsSync(f));
  const speeds = speedFile ? readSpeeds(speedFile) : undefined;
  const rows = [...studyRows(main, datasets, speeds), ...OFFICIAL_WIDTHS.map((w, i) => officialRow(officialDirs[i], w, datasets, speeds))];
  const sweepLoss = options.sweep?.loss;
  const sweep = studyRows(
    runs.filter((r) => r.cell.role === "light" && r.cell.loss === sweepLoss),
    [],
    speeds,
  ).sort((a, b) => String(a.form).localeCompare(String(b.form)) || (a.lambda ?? 0) - (b.lambda ?? 0));
  return { status: "finished", runs, trained, rows, sweep, comparisons: studentComparisons(rows), datasets, roots, speeds };
}
