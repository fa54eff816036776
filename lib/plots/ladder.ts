// The workbook's view of ablation rows on the test sets: MMA curves of each row over its seeds next to
// ORB and KAZE, the table of MMA@1/3/5/10, and each step of the ladder set against the seed spread.
import * as path from "node:path";
import { aggregateSeeds, compareWithSpread, seedTableRows, SpreadComparison } from "../eval/seeds";
import type { EvalSummary } from "../eval/metrics";
import { baselineSummary, groupSummaries } from "../training/results";
import { workbookTestSets } from "../training/workbook";
import type { SeedGroup } from "../training/runs";
import { showFigure, showTable } from "./display";
import { mmaSeedsFigure } from "./mma";


export interface LadderRung {
  /** Legend and table label, e.g. "baseline". */
  label: string;
  group: SeedGroup;
}

/** Per-seed test summaries of a rung on a dataset (each run's kept eval JSON). */
function summaries(rung: LadderRung, dataset: string): EvalSummary[] {
  return groupSummaries(rung.group, dataset);
}

/** Each consecutive step of the ladder (rung i+1 − rung i) against the larger seed sd, per split. */
export function ladderSteps(rungs: LadderRung[], dataset: string, threshold = 3): SpreadComparison[] {
  const out: SpreadComparison[] = [];
  for (let i = 1; i < rungs.length; i++) {
    const a = aggregateSeeds(summaries(rungs[i], dataset), rungs[i].label);
    const b = aggregateSeeds(summaries(rungs[i - 1], dataset), rungs[i - 1].label);
    const splits = [
      { split: "overall", pairs: a.pairs },
      { split: "illumination", pairs: a.pairs_i },
      { split: "viewpoint", pairs: a.pairs_v },
    ] as const;
    // hpatches-sample has viewpoint pairs only.
    for (const { split, pairs } of splits) if (pairs > 0) out.push(compareWithSpread(a, b, { threshold, split }));
  }
  return out;
}

/**
 * For each test set of the workbook's scale: the MMA figure (rungs, then ORB and KAZE), the MMA table, and the ladder steps
 * against the seed spread. `root` is where the data folder lives (".." from notebooks/).
 */
export async function showLadderOnTestSets(rungs: LadderRung[], opts: { name: string; root: string; title: string }): Promise<Record<string, SpreadComparison[]>> {
  const steps: Record<string, SpreadComparison[]> = {};
  for (const set of workbookTestSets()) {
    const dataset = path.resolve(opts.root, set);
    const name = path.basename(dataset);
    const methods = [
      ...rungs.map((r) => ({ label: r.label, summaries: summaries(r, dataset) })),
      { label: "ORB", summaries: [baselineSummary("orb", dataset)] },
      { label: "KAZE", summaries: [baselineSummary("kaze", dataset)] },
    ];
    await showFigure(mmaSeedsFigure(methods, { title: `${opts.title} on ${name}` }), { name: `${opts.name}-mma-${name}` });
    showTable(
      seedTableRows(methods.map((m) => ({ row: m.label, teacher: "", summaries: m.summaries }))).map((r) => ({
        method: r.row,
        split: r.split,
        seeds: r.seeds,
        "MMA@1": r["MMA@1"],
        "MMA@3": r["MMA@3"],
        "MMA@5": r["MMA@5"],
        "MMA@10": r["MMA@10"],
      })),
    );
    steps[name] = ladderSteps(rungs, dataset);
    if (steps[name].length > 0) console.log(steps[name].map((s) => s.text).join("\n"));
  }
  return steps;
}
