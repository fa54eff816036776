// Evaluate every finished training run on the test sets and print the ablation table over seeds:
//   npm run eval-runs -- [--runs DIR] [--datasets DIR,DIR] [--baselines orb,kaze] [--out DIR] [--quiet]
// Each run's final weights are evaluated once per dataset (HPatches protocol, the extractor's
// defaults); the summary is kept as <run>/eval/<dataset>.json, so a second call only reads. The
// classical baselines are evaluated once per dataset into <out>/baselines/. The table (MMA@1/3/5/10
// overall, i, v as mean ± sd over seeds) is printed and written to <out>/ablation-table.csv, with
// each ladder step set against the seed spread.
import * as fs from "node:fs";
import * as path from "node:path";
import { DatasetError } from "../lib/data/errors";
import { readHPatches } from "../lib/data/hpatches";
import { initEngine } from "../lib/engine/index";
import type { EvalSummary } from "../lib/eval/metrics";
import { aggregateSeeds, compareSplitsWithSpread, seedTable, SeedTableEntry, seedTableRows } from "../lib/eval/seeds";
import { ROW_NAMES } from "../lib/training/config";
import { baselineSummaryFile, datasetName, keptOrEvaluated, runSummaryFile } from "../lib/training/results";
import { listRuns, RunInfo, seedGroups } from "../lib/training/runs";
import { RUN_FILES } from "../lib/training/trainer";
import { writeFileAtomicSync } from "../lib/util/atomic";
import { existingDir, outputDir, parseCommandLine, positiveFlag, runMain, UsageError } from "../lib/util/cli";
import { printTable } from "../lib/util/print-table";
import { projectPath } from "../lib/util/project";

const USAGE = `usage: npm run eval-runs -- [--runs DIR] [--datasets DIR,DIR] [--baselines orb,kaze] [--threshold P] [--out DIR] [--quiet]
  --runs DIR          folder of run folders (default outputs/runs)
  --datasets A,B      HPatches-layout test sets (default data/synthetic-hpatches,data/hpatches-sample)
  --baselines M,N     classical methods evaluated beside the runs (default orb,kaze; "none" for none)
  --threshold P       detection probability a trained model's keypoint needs (default 0.9, the release's;
                      a lower one shows the descriptors of an under-trained detector)
  --out DIR           where the table and the baseline summaries go (default outputs/)
  --quiet             no progress bars`;

const OPTIONS = {
  runs: { type: "string" },
  datasets: { type: "string" },
  baselines: { type: "string" },
  threshold: { type: "string" },
  out: { type: "string" },
  quiet: { type: "boolean" },
} as const;


/** A cached summary, or a fresh evaluation written to `file`. */
async function main(): Promise<void> {
  const v = parseCommandLine(process.argv.slice(2), { usage: USAGE, options: OPTIONS });
  const root = path.resolve(existingDir(v.runs ?? projectPath("outputs", "runs"), "--runs"));
  const datasets = (v.datasets ?? "data/synthetic-hpatches,data/hpatches-sample").split(",").map((d) => existingDir(projectPathIfRelative(d), "--datasets"));
  const baselines = v.baselines === "none" ? [] : (v.baselines ?? "orb,kaze").split(",");
  for (const b of baselines) if (!["orb", "akaze", "kaze"].includes(b)) throw new UsageError(`--baselines ${v.baselines}: '${b}' is not orb, akaze or kaze`);
  const out = path.resolve(outputDir(v.out ?? projectPath("outputs"), "--out"));
  for (const d of datasets) readHPatches(d); // the whole layout checked before any work
  const quiet = v.quiet === true;
  const threshold = positiveFlag(v.threshold, "--threshold", true);
  if (threshold !== undefined && threshold > 1) throw new UsageError(`--threshold ${v.threshold}: a probability in [0, 1]`);
  // Summaries and tables at another threshold are kept apart from the protocol's.
  const suffix = threshold === undefined ? "" : `-threshold${threshold}`;

  const runs = listRuns({ roots: [root] }).filter((r) => r.finished);
  if (runs.length === 0) throw new UsageError(`--runs ${root}: no finished run (a run is finished when its ${RUN_FILES.final} exists or its metrics reach the last step)`);
  await initEngine({ quiet });

  const tables: SeedTableEntry[] = [];
  const groups = seedGroups(runs).sort(
    (a, b) =>
      ROW_NAMES.indexOf(a.config.row) - ROW_NAMES.indexOf(b.config.row) ||
      a.config.teacher.localeCompare(b.config.teacher) ||
      a.config.network.width - b.config.network.width ||
      a.config.steps - b.config.steps,
  );
  // A dense student (npm run train --distill-from) is a line of its own, never one of its row's seeds;
  // the width and steps tell the ladder's runs from longer or narrower ones of the same row.
  const rowLabel = (c: (typeof groups)[number]["config"]) => `${c.distill ? `${c.row} dense student` : c.row} w${c.network.width} n${c.steps}`;
  const summariesOf = async (run: RunInfo, dataset: string) =>
    keptOrEvaluated(runSummaryFile(run.dir, dataset, threshold), path.join(run.dir, RUN_FILES.final), dataset, { quiet, threshold, label: `${run.name}/${RUN_FILES.final}` });

  for (const dataset of datasets) {
    for (const method of baselines) {
      const s = await keptOrEvaluated(baselineSummaryFile(path.join(out, "baselines"), method, dataset), method, dataset, { quiet });
      tables.push({ row: method, teacher: "-", summaries: [s] });
    }
    const ladder: { group: (typeof groups)[number]; summaries: EvalSummary[] }[] = [];
    for (const group of groups) {
      const summaries: EvalSummary[] = [];
      for (const run of group.runs) summaries.push({ ...(await summariesOf(run, dataset)), method: `${rowLabel(group.config)}/${group.config.teacher} seed ${run.config.seed}` });
      tables.push({ row: `${rowLabel(group.config)} (${group.runs.length} seeds)`, teacher: group.config.teacher, summaries });
      ladder.push({ group, summaries });
    }
    // Every row against the baseline row of the same teacher and scale, at 3 px.
    for (const { group, summaries } of ladder) {
      if (group.config.row === "baseline" && !group.config.distill) continue;
      const base = ladder.find((l) => l.group.config.row === "baseline" && !l.group.config.distill && l.group.config.teacher === group.config.teacher && l.group.config.steps === group.config.steps && l.group.config.network.width === group.config.network.width);
      if (!base) continue;
      const a = aggregateSeeds(summaries, `${rowLabel(group.config)}/${group.config.teacher}`);
      const b = aggregateSeeds(base.summaries, `${rowLabel(base.group.config)}/${base.group.config.teacher}`);
      for (const c of compareSplitsWithSpread(a, b)) console.log(`${datasetName(dataset)}: ${c.text}`);
    }
  }
  const { csv } = seedTable(tables);
  printTable(seedTableRows(tables), ["row", "teacher", "dataset", "split", "seeds", "MMA@1", "MMA@3", "MMA@5", "MMA@10"]);
  const table = path.join(out, `ablation-table${suffix}.csv`);
  writeFileAtomicSync(table, csv);
  console.log(`wrote ${path.relative(process.cwd(), table)}`);
}

function projectPathIfRelative(p: string): string {
  return path.isAbsolute(p) || fs.existsSync(p) ? p : projectPath(p);
}

runMain(main, [DatasetError]);
