// A table of records as fixed-width text on stdout: the commands' tables read in any console.

/** The chosen columns (default: the first record's keys) of `rows`, padded to their widest cell. */
export function printTable(rows: Record<string, unknown>[], columns: string[] = Object.keys(rows[0] ?? {})): void {
  const cell = (v: unknown) => (v === null || v === undefined ? "" : String(v));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i])).join("  ");
  console.log(line(columns));
  for (const r of rows) console.log(line(columns.map((c) => cell(r[c]))));
}
