// The whole DesDis study in one command (lib/desdis/study.ts): train every teacher, student and
// light network of the grid that is not finished (an interrupted one resumes), then the regulariser
// sweep; score the official DesDis weights beside them; evaluate MMA with KAZE keypoints on the test
// sets; print the teacher vs student table and write it, with the sweep, as CSV.
//   npm run desdis-study -- [--scale default|quick] [--losses hardnet,sosnet,hynet] [--seeds 0,1,2] [flags]
import * as fs from "node:fs";
import * as path from "node:path";
import { DatasetError } from "../lib/data/errors";
import { REGULARIZERS, TRIPLET_LOSSES } from "../lib/desdis/config";
import { STUDY_SCALES, StudyOptions } from "../lib/desdis/study";
import { comparisonText, studyTableRecords } from "../lib/desdis/study-results";
import { desdisStudy } from "../lib/desdis/workbook";
import { toCsv, toDataFrame } from "../lib/eval/tables";
import { SCALE_NAMES, workbookScale } from "../lib/training/scales";
import { writeFileAtomicSync } from "../lib/util/atomic";
import { choiceFlag, choiceListFlag, existingDir, integerFlag, outputDir, parseCommandLine, positiveListFlag, runMain, seedListFlag, stopOnInterrupt, UsageError } from "../lib/util/cli";
import { printTable } from "../lib/util/print-table";
import { projectPath, projectRelative, PROJECT_ROOT } from "../lib/util/project";

const USAGE = `usage: npm run desdis-study -- [flags]
  --scale NAME          default (the shipped study's scale) or quick (tiny runs, for tests);
                        default: SAMFEAT_SCALE, else default
  --losses L,...        teachers' triplet losses (default ${TRIPLET_LOSSES.join(",")})
  --seeds S,...         seeds of every teacher and student (default 0,1,2)
  --width D             width of the light students and light-alone networks (default 32)
  --sweep-loss L        the teacher loss whose light students the regulariser sweep distils (default hardnet)
  --sweep-forms F,...   regulariser forms of the sweep (default ${REGULARIZERS.join(",")})
  --sweep-lambdas L,... lambdas of the sweep (default 0.3,1,3)
  --sweep-seeds S,...   seeds of the sweep (default 0,1; none: no sweep)
  --images DIR          training images (default data/bsds500/images)
  --cache DIR           label cache and held-out patch set (default data/cache)
  --datasets DIR,...    MMA test sets (default data/synthetic-hpatches,data/hpatches-sample)
  --speed FILE          speeds from npm run bench-patches -- --out FILE (default <out>/speed.json, optional)
  --out DIR             folder of run folders, tables and official scores (default outputs/desdis)
  --no-mma              skip the MMA evaluation (held-out patch scores only)
  --quiet               no progress bars`;

const OPTIONS = {
  scale: { type: "string" },
  losses: { type: "string" },
  seeds: { type: "string" },
  width: { type: "string" },
  "sweep-loss": { type: "string" },
  "sweep-forms": { type: "string" },
  "sweep-lambdas": { type: "string" },
  "sweep-seeds": { type: "string" },
  images: { type: "string" },
  cache: { type: "string" },
  datasets: { type: "string" },
  speed: { type: "string" },
  out: { type: "string" },
  "no-mma": { type: "boolean" },
  quiet: { type: "boolean" },
} as const;

async function main(): Promise<void> {
  const v = parseCommandLine(process.argv.slice(2), { usage: USAGE, options: OPTIONS });
  const scaleName = v.scale === undefined ? workbookScale() : choiceFlag(v.scale, "--scale", SCALE_NAMES)!;
  const scale = STUDY_SCALES[scaleName];
  const base = scale.options;
  const sweepSeeds = v["sweep-seeds"] === "none" ? null : seedListFlag(v["sweep-seeds"], "--sweep-seeds");
  const options: StudyOptions = {
    ...base,
    losses: choiceListFlag(v.losses, "--losses", TRIPLET_LOSSES) ?? base.losses,
    seeds: seedListFlag(v.seeds, "--seeds") ?? base.seeds,
    width: integerFlag(v.width, "--width") ?? base.width,
    images: v.images === undefined ? base.images : projectRelative(existingDir(v.images, "--images")),
    sweep:
      sweepSeeds === null || base.sweep === null
        ? null
        : {
            loss: choiceFlag(v["sweep-loss"], "--sweep-loss", TRIPLET_LOSSES) ?? base.sweep.loss,
            forms: choiceListFlag(v["sweep-forms"], "--sweep-forms", REGULARIZERS) ?? base.sweep.forms,
            lambdas: positiveListFlag(v["sweep-lambdas"], "--sweep-lambdas") ?? base.sweep.lambdas,
            seeds: sweepSeeds ?? base.sweep.seeds,
          },
  };
  const datasets = v.datasets === undefined ? scale.datasets : v.datasets.split(",");
  for (const d of datasets) existingDir(path.resolve(PROJECT_ROOT, d), "--datasets");
  const out = path.resolve(outputDir(v.out ?? scale.roots[0], "--out"));
  const cacheRoot = path.resolve(v.cache ?? projectPath("data", "cache"));
  const speedFile = path.resolve(v.speed ?? path.join(out, "speed.json"));
  const quiet = v.quiet === true;

  const shouldStop = stopOnInterrupt("npm run desdis-study resumes");
  const study = await desdisStudy({ scale: scaleName, options, train: true, out, datasets: v["no-mma"] === true ? [] : datasets, cacheRoot, speedFile: fs.existsSync(speedFile) ? speedFile : undefined, quiet, shouldStop });
  if (study.status === "interrupted") {
    console.log("interrupted; run npm run desdis-study again with the same flags to resume");
    return;
  }
  console.log(`study: ${study.runs.length} runs finished (${study.trained} trained now) under ${projectRelative(out)}`);
  if (!study.speeds) console.log(`note: no ${projectRelative(speedFile)}; the table has no speed columns (npm run bench-patches -- --out ${projectRelative(speedFile)})`);
  const rows = study.rows;
  const table = studyTableRecords(rows);
  printTable(table);
  writeFileAtomicSync(path.join(out, "desdis-table.csv"), toCsv(toDataFrame(table)));
  for (const c of study.comparisons) console.log(comparisonText(c));
  const sweep = study.sweep;
  if (sweep.length > 0) {
    const sweepTable = studyTableRecords(sweep);
    console.log("\nregulariser sweep (held-out patch scores):");
    printTable(sweepTable);
    writeFileAtomicSync(path.join(out, "desdis-sweep.csv"), toCsv(toDataFrame(sweepTable)));
  }
  console.log(`wrote ${projectRelative(path.join(out, "desdis-table.csv"))}${sweep.length > 0 ? ` and ${projectRelative(path.join(out, "desdis-sweep.csv"))}` : ""}`);
}

runMain(main, [DatasetError]);
