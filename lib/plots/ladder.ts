// The workbook's view of ablation rows on the test sets: MMA curves of each row over its seeds next to
// ORB and KAZE, the table of MMA@1/3/5/10, and each step of the ladder set against the seed spread.
import * as path from "node:path";
import { aggregateSeeds, compareSplitsWithSpread, seedTableRows, SpreadComparison } from "../eval/seeds";
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

/** A rung's per-seed test summaries on one dataset (each run's kept eval JSON). */
interface RungSummaries {
  label: string;
  summaries: EvalSummary[];
}

/** Each consecutive step of the ladder (rung i+1 − rung i) against the larger seed sd, per split. */
export function ladderSteps(rungs: RungSummaries[], threshold = 3): SpreadComparison[] {
  const out: SpreadComparison[] = [];
  for (let i = 1; i < rungs.length; i++) {
    const a = aggregateSeeds(rungs[i].summaries, rungs[i].label);
    const b = aggregateSeeds(rungs[i - 1].summaries, rungs[i - 1].label);
    out.push(...compareSplitsWithSpread(a, b, threshold));
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
    const learned = rungs.map((r) => ({ label: r.label, summaries: groupSummaries(r.group, dataset) }));
    const methods = [
      ...learned,
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
    steps[name] = ladderSteps(learned);
    if (steps[name].length > 0) console.log(steps[name].map((s) => s.text).join("\n"));
  }
  return steps;
}
