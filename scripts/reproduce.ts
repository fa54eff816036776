// Reproduce the whole default-scale study from scratch: train every ablation row with each teacher
// (finished runs are skipped, an interrupted one resumes from its last checkpoint), evaluate every
// run and the classical baselines on both test sets and print the ablation table (npm run eval-runs),
// train the dense DesDis students of the new baseline and the DesDis study (npm run desdis-study),
// then execute the workbook on those runs (npm start).
//   npm run reproduce -- [--teachers human,classical] [--seeds 0,1,2] [--other-seeds 0,1] [--rows ...]
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { DatasetError } from "../lib/data/errors";
import { initEngine } from "../lib/engine/index";
import { ROW_NAMES, TEACHER_NAMES } from "../lib/training/config";
import { SourceError, splitImages } from "../lib/training/sources";
import { missingRuns, trainMissing } from "../lib/training/train-missing";
import { denseStudyConfigs, denseStudyTeacher } from "../lib/training/dense-study";
import { SCALE_NAMES, SCALE_SEEDS, scaleGrid, workbookScale } from "../lib/training/scales";
import { choiceFlag, choiceListFlag, existingDir, parseCommandLine, runMain, seedListFlag, stopOnInterrupt, UsageError } from "../lib/util/cli";
import { projectPath, projectRelative, PROJECT_ROOT } from "../lib/util/project";

const USAGE = `usage: npm run reproduce -- [flags]
  --teachers T,...     teachers of the grid (default human,classical; ${TEACHER_NAMES.join(", ")})
  --rows R,...         ablation rows (default ${ROW_NAMES.join(",")})
  --seeds S,...        seeds of the human teacher's runs (default 0,1,2; quick scale 0,1)
  --other-seeds S,...  seeds of every other teacher's runs (default 0,1)
  --scale NAME         default (the shipped runs' scale: the ladder at 600 steps, and baseline
                       and full with the human teacher at the training default) or quick
                       (tiny runs, for tests);
                       default: SAMFEAT_SCALE, else default
  --images DIR         training images (default data/bsds500/images)
  --cache DIR          teacher and label caches (default data/cache)
  --datasets DIR,...   test sets for the evaluation (default data/synthetic-hpatches,data/hpatches-sample)
  --out DIR            folder of run folders (default outputs/runs)
  --no-desdis          skip the DesDis part: the dense students and npm run desdis-study
  --no-workbook        train and evaluate only; do not execute the notebooks
  --quiet              no progress line`;

const OPTIONS = {
  teachers: { type: "string" },
  rows: { type: "string" },
  seeds: { type: "string" },
  "other-seeds": { type: "string" },
  scale: { type: "string" },
  images: { type: "string" },
  cache: { type: "string" },
  datasets: { type: "string" },
  out: { type: "string" },
  "no-workbook": { type: "boolean" },
  "no-desdis": { type: "boolean" },
  quiet: { type: "boolean" },
} as const;

/** Runs a project script as a child process (same node, tsx loader), inheriting the terminal. */
function runScript(script: string, args: string[]): void {
  const r = spawnSync(process.execPath, ["--import", "tsx", path.join(PROJECT_ROOT, "scripts", script), ...args], { stdio: "inherit", cwd: PROJECT_ROOT });
  if (r.status !== 0) throw new Error(`${script} ${args.join(" ")} failed (exit ${r.status ?? r.signal})`);
}

async function main(): Promise<number> {
  const v = parseCommandLine(process.argv.slice(2), { usage: USAGE, options: OPTIONS });
  const teachers = choiceListFlag(v.teachers, "--teachers", TEACHER_NAMES) ?? ["human", "classical"];
  const rows = choiceListFlag(v.rows, "--rows", ROW_NAMES) ?? [...ROW_NAMES];
  const scale = v.scale === undefined ? workbookScale() : choiceFlag(v.scale, "--scale", SCALE_NAMES)!;
  const humanSeeds = seedListFlag(v.seeds, "--seeds") ?? SCALE_SEEDS[scale].human;
  const otherSeeds = seedListFlag(v["other-seeds"], "--other-seeds") ?? SCALE_SEEDS[scale].other;
  const images = v.images === undefined ? undefined : projectRelative(existingDir(v.images, "--images"));
  const datasets = (v.datasets ?? "data/synthetic-hpatches,data/hpatches-sample").split(",");
  for (const d of datasets) existingDir(path.resolve(PROJECT_ROOT, d), "--datasets");
  const outRoot = path.resolve(v.out ?? projectPath("outputs", "runs"));
  const quiet = v.quiet === true;
  const desdis = v["no-desdis"] !== true;

  const grid = scaleGrid(scale, { teachers, rows, humanSeeds, otherSeeds, images });
  try {
    splitImages(path.resolve(PROJECT_ROOT, grid[0].data.images));
  } catch (e) {
    throw new UsageError(`--images ${(e as Error).message}`);
  }
  const todo = missingRuns(grid, [outRoot]);
  const longer = grid.filter((c) => c.steps !== grid[0].steps);
  console.log(`grid (${scale} scale): ${grid.length} runs (${teachers.join(", ")} × ${rows.join(", ")}${longer.length > 0 ? `, and ${longer.length} at the ${longer[0].steps}-step training default` : ""}); ${grid.length - todo.length} finished, ${todo.length} to train (${todo.reduce((s, t) => s + t.left, 0)} steps)`);
  await initEngine({ quiet });
  const shouldStop = stopOnInterrupt("npm run reproduce resumes");
  const trained = await trainMissing(grid, { out: outRoot, cacheRoot: v.cache, label: "reproduce", quiet, shouldStop });
  if (trained.status === "interrupted") {
    console.log(`interrupted in ${trained.interruptedIn}; run npm run reproduce again to resume`);
    return 0;
  }

  // The dense DesDis variant distils this grid's baseline of seed 0 (default scale, human teacher).
  if (desdis && scale === "default" && teachers.includes("human") && rows.includes("baseline") && humanSeeds.includes(0)) {
    const dense = denseStudyConfigs(denseStudyTeacher([outRoot]));
    const r = await trainMissing([...dense.student, ...dense.alone], { out: outRoot, cacheRoot: v.cache, label: "dense students", quiet, shouldStop });
    if (r.status === "interrupted") {
      console.log(`interrupted in ${r.interruptedIn}; run npm run reproduce again to resume`);
      return 0;
    }
  }
  // Tables and baselines go beside the run folders (outputs/ for outputs/runs).
  runScript("eval-runs.ts", ["--runs", outRoot, "--datasets", datasets.join(","), "--out", path.dirname(outRoot), ...(quiet ? ["--quiet"] : [])]);
  // The DesDis study (teachers, students, sweep), its runs beside the SAMFeat ones.
  if (desdis) {
    const desdisOut = path.join(path.dirname(outRoot), scale === "quick" ? "desdis-quick" : "desdis");
    runScript("desdis-study.ts", ["--scale", scale, "--out", desdisOut, "--datasets", datasets.join(","), ...(v.images ? ["--images", v.images] : []), ...(v.cache ? ["--cache", v.cache] : []), ...(quiet ? ["--quiet"] : [])]);
  }
  if (v["no-workbook"] !== true) runScript("run-notebooks.ts", ["--out", projectPath("outputs", "notebooks")]);
  return 0;
}

runMain(main, [DatasetError, SourceError]);
