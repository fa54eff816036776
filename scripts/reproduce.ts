// Reproduce the whole default-scale study from scratch: train every ablation row with each teacher
// (finished runs are skipped, an interrupted one resumes from its last checkpoint), evaluate every
// run and the classical baselines on both test sets and print the ablation table (npm run eval-runs),
// then execute the workbook on those runs (npm start).
//   npm run reproduce -- [--teachers human,classical] [--seeds 0,1,2] [--other-seeds 0] [--rows ...]
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { DatasetError } from "../lib/data/errors";
import { initEngine } from "../lib/engine/index";
import { defaultRunName, resolveConfig, RowName, ROW_NAMES, TeacherName, TEACHER_NAMES, TrainConfig } from "../lib/training/config";
import { prepareRunData, RunData } from "../lib/training/prepare";
import { SourceError, splitImages } from "../lib/training/sources";
import { readMetrics, RUN_FILES, train } from "../lib/training/trainer";
import { SCALE_NAMES, SCALES, workbookScale } from "../lib/training/scales";
import { choiceFlag, existingDir, parseCommandLine, runMain, UsageError } from "../lib/util/cli";
import { progressBar } from "../lib/util/progress";
import { projectPath, projectRelative, PROJECT_ROOT } from "../lib/util/project";

const USAGE = `usage: npm run reproduce -- [flags]
  --teachers T,...     teachers of the grid (default human,classical; ${TEACHER_NAMES.join(", ")})
  --rows R,...         ablation rows (default ${ROW_NAMES.join(",")})
  --seeds S,...        seeds of the human teacher's runs (default 0,1,2)
  --other-seeds S,...  seeds of every other teacher's runs (default 0)
  --scale NAME         default (the shipped runs' scale) or quick (tiny runs, for tests);
                       default: SAMFEAT_SCALE, else default
  --images DIR         training images (default data/bsds500/images)
  --cache DIR          teacher and label caches (default data/cache)
  --datasets DIR,...   test sets for the evaluation (default data/synthetic-hpatches,data/hpatches-sample)
  --out DIR            folder of run folders (default outputs/runs)
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
  quiet: { type: "boolean" },
} as const;

function listFlag<T extends string>(value: string | undefined, flag: string, fallback: T[], choices: readonly T[]): T[] {
  if (value === undefined) return fallback;
  const items = value.split(",").map((s) => s.trim());
  for (const item of items) if (!choices.includes(item as T)) throw new UsageError(`${flag} ${value}: '${item}' is not one of ${choices.join(", ")}`);
  return items as T[];
}

function seedsFlag(value: string | undefined, flag: string, fallback: number[]): number[] {
  if (value === undefined) return fallback;
  const seeds = value.split(",").map((s) => Number(s.trim()));
  if (seeds.some((s) => !Number.isInteger(s) || s < 0)) throw new UsageError(`${flag} ${value}: a comma-separated list of non-negative integers`);
  return [...new Set(seeds)];
}

interface GridRun {
  config: TrainConfig;
  dir: string;
  /** Steps already done (a resumed run) or all of them (a finished run). */
  done: number;
  finished: boolean;
}

/** The step a run folder reached: its final weights mean all of them, else its last logged step. */
function stepsDone(dir: string, config: TrainConfig): { done: number; finished: boolean } {
  if (fs.existsSync(path.join(dir, RUN_FILES.final))) return { done: config.steps, finished: true };
  if (!fs.existsSync(path.join(dir, RUN_FILES.last))) return { done: 0, finished: false };
  const logged = readMetrics(dir).reduce((m, r) => Math.max(m, r.step), 0);
  return { done: logged, finished: false };
}

/** Runs a project script as a child process (same node, tsx loader), inheriting the terminal. */
function runScript(script: string, args: string[]): void {
  const r = spawnSync(process.execPath, ["--import", "tsx", path.join(PROJECT_ROOT, "scripts", script), ...args], { stdio: "inherit", cwd: PROJECT_ROOT });
  if (r.status !== 0) throw new Error(`${script} ${args.join(" ")} failed (exit ${r.status ?? r.signal})`);
}

async function main(): Promise<number> {
  const v = parseCommandLine(process.argv.slice(2), { usage: USAGE, options: OPTIONS });
  const teachers = listFlag<TeacherName>(v.teachers, "--teachers", ["human", "classical"], TEACHER_NAMES);
  const rows = listFlag<RowName>(v.rows, "--rows", [...ROW_NAMES], ROW_NAMES);
  const humanSeeds = seedsFlag(v.seeds, "--seeds", [0, 1, 2]);
  const otherSeeds = seedsFlag(v["other-seeds"], "--other-seeds", [0]);
  const scale = v.scale === undefined ? workbookScale() : choiceFlag(v.scale, "--scale", SCALE_NAMES)!;
  const images = v.images === undefined ? undefined : projectRelative(existingDir(v.images, "--images"));
  const datasets = (v.datasets ?? "data/synthetic-hpatches,data/hpatches-sample").split(",");
  for (const d of datasets) existingDir(path.resolve(PROJECT_ROOT, d), "--datasets");
  const outRoot = path.resolve(v.out ?? projectPath("outputs", "runs"));
  const quiet = v.quiet === true;

  const grid: GridRun[] = [];
  for (const teacher of teachers) {
    for (const seed of teacher === "human" ? humanSeeds : otherSeeds) {
      for (const row of rows) {
        const config = resolveConfig(row, teacher, { ...SCALES[scale], ...(images ? { images } : {}), seed });
        const dir = path.join(outRoot, defaultRunName(config));
        grid.push({ config, dir, ...stepsDone(dir, config) });
      }
    }
  }
  let split;
  try {
    split = splitImages(path.resolve(PROJECT_ROOT, grid[0].config.data.images));
  } catch (e) {
    throw new UsageError(`--images ${(e as Error).message}`);
  }
  const todo = grid.filter((r) => !r.finished);
  const total = todo.reduce((s, r) => s + r.config.steps - r.done, 0);
  console.log(`grid (${scale} scale): ${grid.length} runs (${teachers.join(", ")} × ${rows.join(", ")}); ${grid.length - todo.length} finished, ${todo.length} to train (${total} steps)`);

  if (todo.length > 0) {
    await initEngine({ quiet });
    let interrupted = false;
    process.on("SIGINT", () => {
      if (interrupted) process.exit(130);
      interrupted = true;
      console.error("\nstopping after this step (Ctrl-C again to quit at once); npm run reproduce resumes");
    });
    const data = new Map<TeacherName, RunData>();
    const bar = progressBar("reproduce", total, { quiet });
    try {
      for (const [i, run] of todo.entries()) {
        const teacher = run.config.teacher;
        if (!data.has(teacher)) data.set(teacher, await prepareRunData(run.config, split, { cacheRoot: v.cache, quiet }));
        const name = path.basename(run.dir);
        const result = await train(run.config, run.dir, data.get(teacher)!, {
          resume: fs.existsSync(path.join(run.dir, RUN_FILES.config)),
          quiet: true,
          shouldStop: () => interrupted,
          onRecord: (r) => {
            if (r.type === "train") bar.tick(1, `run ${i + 1}/${todo.length} ${name} step ${r.step}`);
          },
        });
        if (result.status === "interrupted") {
          bar.stop();
          console.log(`interrupted in ${name} at step ${result.steps}; run npm run reproduce again to resume`);
          return 0;
        }
      }
    } finally {
      bar.stop();
    }
  }

  // Tables and baselines go beside the run folders (outputs/ for outputs/runs).
  runScript("eval-runs.ts", ["--runs", outRoot, "--datasets", datasets.join(","), "--out", path.dirname(outRoot), ...(quiet ? ["--quiet"] : [])]);
  if (v["no-workbook"] !== true) runScript("run-notebooks.ts", ["--out", projectPath("outputs", "notebooks")]);
  return 0;
}

runMain(main, [DatasetError, SourceError]);
