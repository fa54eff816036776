// The workbook's view of ablation rows on the test sets: MMA curves of each row over its seeds next to
// ORB and KAZE, the table of MMA@1/3/5/10, and each step of the ladder set against the seed spread.
import * as path from "node:path";
import { aggregateSeeds, compareSplitsWithSpread, seedTableRows, SpreadComparison } from "../eval/seeds";
import type { EvalSummary } from "../eval/metrics";
import { baselineSummary, groupSummaries } from "../training/results";
import { TeacherLadder, workbookTestSets } from "../training/workbook";
import type { SeedGroup } from "../training/runs";
import { showFigure, showTable } from "./display";
import { mmaSeedsFigure } from "./mma";


export interface LadderRung {
  /** Legend and table label, e.g. "baseline". */
  label: string;
  group: SeedGroup;
}

/** A rung's per-seed test summaries on one dataset (each run's kept eval JSON). */
export interface RungSummaries {
  label: string;
  summaries: EvalSummary[];
}

/** ORB and KAZE on `dataset`, as one-seed rungs beside the learned ones. */
function orbAndKaze(dataset: string): RungSummaries[] {
  return [
    { label: "ORB", summaries: [baselineSummary("orb", dataset)] },
    { label: "KAZE", summaries: [baselineSummary("kaze", dataset)] },
  ];
}

/** The "mean ± sd" MMA columns of a seed-table row. */
function mmaColumns(r: Record<string, string | number | null>): Record<string, string | number | null> {
  return { "MMA@1": r["MMA@1"], "MMA@3": r["MMA@3"], "MMA@5": r["MMA@5"], "MMA@10": r["MMA@10"] };
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
    const methods = [...learned, ...orbAndKaze(dataset)];
    await showFigure(mmaSeedsFigure(methods, { title: `${opts.title} on ${name}` }), { name: `${opts.name}-mma-${name}` });
    showTable(seedTableRows(methods.map((m) => ({ row: m.label, teacher: "", summaries: m.summaries }))).map(({ row, split, seeds, ...r }) => ({ method: row, split, seeds, ...mmaColumns(r) })));
    steps[name] = ladderSteps(learned);
    if (steps[name].length > 0) console.log(steps[name].map((s) => s.text).join("\n"));
  }
  return steps;
}

/** What the teacher comparison found on one test set. */
export interface TeacherComparison {
  /** Per row, each other teacher − the first teacher (MMA@3, every split). */
  teacherEffect: SpreadComparison[];
  /** Per teacher, its last row − its first row (e.g. full − baseline). */
  ladderGain: SpreadComparison[];
}

/** Per teacher (the first is the reference), per row, the per-seed summaries on one test set. */
export function compareTeachers(byTeacher: RungSummaries[][], threshold = 3): TeacherComparison {
  const agg = byTeacher.map((rows) => rows.map((r) => aggregateSeeds(r.summaries, r.label)));
  for (const rows of agg) {
    if (rows.length !== agg[0].length) throw new Error(`compareTeachers: ${rows.length} rows against ${agg[0].length} for the reference teacher`);
  }
  return {
    teacherEffect: agg.slice(1).flatMap((rows) => rows.flatMap((a, r) => compareSplitsWithSpread(a, agg[0][r], threshold))),
    ladderGain: agg.filter((rows) => rows.length > 1).flatMap((rows) => compareSplitsWithSpread(rows[rows.length - 1], rows[0], threshold)),
  };
}

/**
 * The same ladder trained with several teachers, on each test set of the workbook's scale: MMA curves
 * of the first and last rows of every teacher next to ORB and KAZE, the MMA table of every row and
 * teacher, then (printed) each row's teacher effect and each teacher's gain over its ladder, all set
 * against the seed spread. The first ladder is the reference teacher.
 */
export async function showTeachersOnTestSets(ladders: TeacherLadder[], opts: { name: string; root: string; title: string }): Promise<Record<string, TeacherComparison>> {
  const rowsOf = (l: TeacherLadder) => l.groups.map((g) => g.config.row).join(",");
  for (const l of ladders) {
    if (rowsOf(l) !== rowsOf(ladders[0])) throw new Error(`showTeachersOnTestSets: ${l.teacher} has rows ${rowsOf(l)}, ${ladders[0].teacher} ${rowsOf(ladders[0])}`);
  }
  const out: Record<string, TeacherComparison> = {};
  for (const set of workbookTestSets()) {
    const dataset = path.resolve(opts.root, set);
    const name = path.basename(dataset);
    // [teacher][row]: the row's per-seed summaries, labelled "row / teacher"
    const byTeacher = ladders.map((l) => l.groups.map((g) => ({ label: `${g.config.row} / ${l.teacher}`, summaries: groupSummaries(g, dataset) })));
    const ends = byTeacher.flatMap((rows) => [rows[0], rows[rows.length - 1]]);
    await showFigure(mmaSeedsFigure([...ends, ...orbAndKaze(dataset)], { title: `${opts.title} on ${name}` }), { name: `${opts.name}-mma-${name}` });
    const entries = ladders.flatMap((l, t) => l.groups.map((g, r) => ({ row: g.config.row, teacher: l.teacher, summaries: byTeacher[t][r].summaries })));
    showTable(seedTableRows(entries).map(({ row, teacher, split, seeds, ...r }) => ({ row, teacher, split, seeds, ...mmaColumns(r) })));
    const found = compareTeachers(byTeacher);
    console.log(
      [
        `${name}, each row against the same row with the ${ladders[0].teacher} teacher:`,
        ...found.teacherEffect.map((c) => `  ${c.text}`),
        `${name}, each teacher's ladder from end to end:`,
        ...found.ladderGain.map((c) => `  ${c.text}`),
      ].join("\n"),
    );
    out[name] = found;
  }
  return out;
}
