// The ablation ladder as the workbook reads it: for each row, the finished runs of one teacher at one
// scale, found by their resolved config (never by folder name), grouped over seeds. A missing run is
// an error that names the command which trains it: a notebook never retrains a finished run, and never
// silently shows fewer seeds than asked for.
import { ConfigOverrides, resolveConfig, RowName, TeacherName } from "./config";
import { findRun, RunInfo, RunSearchOptions, SeedGroup, seedGroups } from "./runs";

/** The seeds of the shipped default-scale runs. */
export const LADDER_SEEDS = [0, 1, 2];

export interface LadderOptions extends RunSearchOptions {
  seeds?: number[];
  /** A row with at least this many finished seeds is shown with those (the others named on the
   * console with their commands); default every seed is required. */
  minSeeds?: number;
  /** Scale overrides (steps, width, size, batch, ...); default the CPU default scale. */
  overrides?: Omit<ConfigOverrides, "seed">;
}

/** The command that trains the run of `row`, `teacher`, `seed` with these overrides. */
export function trainCommand(row: RowName, teacher: TeacherName, seed: number, o: Omit<ConfigOverrides, "seed"> = {}): string {
  const flags = [`--config ${row}`, `--teacher ${teacher}`, `--seed ${seed}`];
  if (o.steps !== undefined) flags.push(`--steps ${o.steps}`);
  if (o.width !== undefined) flags.push(`--width ${o.width}`);
  if (o.size !== undefined) flags.push(`--size ${o.size}`);
  if (o.batch !== undefined) flags.push(`--batch ${o.batch}`);
  return `npm run train -- ${flags.join(" ")}`;
}

/**
 * One seed group per row, in the order given. Throws naming every missing run's command when a row
 * has fewer finished seeds than `minSeeds` (default: all of them).
 */
export function ladderGroups(rows: RowName[], teacher: TeacherName, opts: LadderOptions = {}): SeedGroup[] {
  const seeds = opts.seeds ?? LADDER_SEEDS;
  const minSeeds = opts.minSeeds ?? seeds.length;
  const missing: string[] = [];
  let short = false;
  const groups = rows.map((row) => {
    const runs: RunInfo[] = [];
    for (const seed of seeds) {
      const run = findRun(resolveConfig(row, teacher, { ...opts.overrides, seed }), opts);
      if (run?.finished) runs.push(run);
      else missing.push(`${trainCommand(row, teacher, seed, opts.overrides)}${run ? " --resume" : ""}`);
    }
    if (runs.length < Math.max(1, minSeeds)) short = true;
    return runs;
  });
  if (short) throw new Error(`${missing.length} run(s) of the ladder are missing or unfinished; train them with:\n  ${missing.join("\n  ")}`);
  if (missing.length > 0) console.log(`shown without ${missing.length} unfinished run(s); train them with:\n  ${missing.join("\n  ")}`);
  return groups.map((runs) => seedGroups(runs)[0]);
}
