// The one command-line convention of every script:
//   - flags are read by node's util.parseArgs through parseCommandLine (strict: an unknown flag or a
//     missing value is an error);
//   - `--help` / `-h` prints the usage on stdout and exits 0;
//   - bad input prints one line, `error: <message naming the flag or file>`, on stderr and exits 2;
//   - any other failure prints the same one line and exits 1.
// Values are checked with the small validators below before any work starts.
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";

/** A bad flag, flag value or input file: exit code 2. */
export class UsageError extends Error {}

/** Thrown by parseCommandLine for --help: runMain prints the usage on stdout and exits 0. */
export class HelpRequest extends Error {
  constructor(readonly usage: string) {
    super(usage);
  }
}

export type FlagSpec = { type: "string"; default?: string } | { type: "boolean"; default?: boolean };
export type FlagValues<O extends Record<string, FlagSpec>> = {
  [K in keyof O]: O[K] extends { type: "boolean" } ? boolean : O[K] extends { default: string } ? string : string | undefined;
};

/**
 * Reads `argv` (without node and the script) with util.parseArgs in strict mode. Flags are named
 * without dashes in `options` ("max-keypoints"). Throws HelpRequest for --help, UsageError naming the
 * flag for anything parseArgs rejects (unknown flag, missing value, a value given to a switch, stray
 * positional arguments).
 */
export function parseCommandLine<O extends Record<string, FlagSpec>>(argv: string[], spec: { usage: string; options: O }): FlagValues<O> {
  return parse(argv, spec, false).values;
}

/** parseCommandLine for a tool that also takes operands (e.g. notebook names) after or between its flags. */
export function parseCommandLineWithOperands<O extends Record<string, FlagSpec>>(
  argv: string[],
  spec: { usage: string; options: O },
): { values: FlagValues<O>; operands: string[] } {
  return parse(argv, spec, true);
}

function parse<O extends Record<string, FlagSpec>>(
  argv: string[],
  spec: { usage: string; options: O },
  allowPositionals: boolean,
): { values: FlagValues<O>; operands: string[] } {
  if (argv.includes("--help") || argv.includes("-h")) throw new HelpRequest(spec.usage);
  try {
    // "--seed -1" as "--seed=-1", so a negative number reaches the range check instead of parseArgs' "ambiguous".
    const joined: string[] = [];
    for (let i = 0; i < argv.length; i++) {
      const name = argv[i].startsWith("--") ? argv[i].slice(2) : undefined;
      if (name !== undefined && spec.options[name]?.type === "string" && /^-\d/.test(argv[i + 1] ?? "")) joined.push(`${argv[i]}=${argv[++i]}`);
      else joined.push(argv[i]);
    }
    const { values, positionals } = parseArgs({ args: joined, options: spec.options, strict: true, allowPositionals });
    return { values: values as unknown as FlagValues<O>, operands: positionals };
  } catch (e) {
    // parseArgs' messages already name the flag ("Unknown option '--x'", "Option '--steps <value>' argument missing").
    const first = (e as Error).message.split("\n")[0].replace(/\. To specify (an option|a positional) argument.*$/, "");
    throw new UsageError(`${first} (${spec.usage.split("\n")[0]})`);
  }
}

/** The value of a flag that must be given. */
export function required(value: string | undefined, flag: string, what: string): string {
  if (value === undefined || value === "") throw new UsageError(`${flag} is required (${what})`);
  return value;
}

/** An integer >= min (default 1); undefined stays undefined. */
export function integerFlag(value: string | undefined, flag: string, min = 1): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isInteger(n) || n < min) throw new UsageError(`${flag} ${value}: expected an integer >= ${min}`);
  return n;
}

/** A finite number > 0 (or >= 0 with allowZero); undefined stays undefined. */
export function positiveFlag(value: string | undefined, flag: string, allowZero = false): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) {
    throw new UsageError(`${flag} ${value}: expected a number ${allowZero ? ">= 0" : "> 0"}`);
  }
  return n;
}

/** One of a fixed set of words; undefined stays undefined. */
export function choiceFlag<T extends string>(value: string | undefined, flag: string, choices: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value)) throw new UsageError(`${flag} ${value}: expected one of ${choices.join(", ")}`);
  return value as T;
}

/** A comma-separated list, each item checked by `parse` (undefined: not valid; `expected` says what is). */
function listFlag<T>(value: string | undefined, flag: string, parse: (item: string) => T | undefined, expected: string): T[] | undefined {
  if (value === undefined) return undefined;
  return value.split(",").map((raw) => {
    const item = raw.trim();
    const parsed = parse(item);
    if (parsed === undefined) throw new UsageError(`${flag} ${value}: '${item}' is not ${expected}`);
    return parsed;
  });
}

/** A comma-separated list of words from a fixed set; undefined stays undefined. */
export function choiceListFlag<T extends string>(value: string | undefined, flag: string, choices: readonly T[]): T[] | undefined {
  return listFlag(value, flag, (s) => ((choices as readonly string[]).includes(s) ? (s as T) : undefined), `one of ${choices.join(", ")}`);
}

/** A comma-separated list of seeds (non-negative integers), each once; undefined stays undefined. */
export function seedListFlag(value: string | undefined, flag: string): number[] | undefined {
  const seeds = listFlag(value, flag, (s) => (/^\d+$/.test(s) ? Number(s) : undefined), "a non-negative integer");
  return seeds && [...new Set(seeds)];
}

/** A comma-separated list of numbers > 0; undefined stays undefined. */
export function positiveListFlag(value: string | undefined, flag: string): number[] | undefined {
  return listFlag(value, flag, (s) => (s !== "" && Number.isFinite(Number(s)) && Number(s) > 0 ? Number(s) : undefined), "a positive number");
}

/**
 * Ctrl-C asks a long job to stop after its current step (it saves, and `resumeHint` says how to go
 * on); a second Ctrl-C quits at once. Returns the question the job's loop asks after every step.
 */
export function stopOnInterrupt(resumeHint?: string): () => boolean {
  let interrupted = false;
  process.on("SIGINT", () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    console.error(`\nstopping after this step (Ctrl-C again to quit at once)${resumeHint ? `; ${resumeHint}` : ""}`);
  });
  return () => interrupted;
}

/** An existing folder. */
export function existingDir(value: string, flag: string): string {
  if (!fs.existsSync(value) || !fs.statSync(value).isDirectory()) throw new UsageError(`${flag} ${value}: not a folder`);
  return value;
}

/** An existing file. */
export function existingFile(value: string, flag: string): string {
  if (!fs.existsSync(value) || !fs.statSync(value).isFile()) throw new UsageError(`${flag} ${value}: file not found`);
  return value;
}

/**
 * A folder the tool may write into: an existing folder, or one that can be created (its nearest
 * existing ancestor is a writable folder). Checked before any work so a typo fails at once.
 */
export function outputDir(value: string, flag: string): string {
  let p = path.resolve(value);
  if (fs.existsSync(p) && !fs.statSync(p).isDirectory()) throw new UsageError(`${flag} ${value}: exists and is not a folder`);
  while (!fs.existsSync(p)) p = path.dirname(p);
  if (!fs.statSync(p).isDirectory()) throw new UsageError(`${flag} ${value}: ${p} is not a folder`);
  try {
    fs.accessSync(p, fs.constants.W_OK);
  } catch {
    throw new UsageError(`${flag} ${value}: ${p} is not writable`);
  }
  return value;
}

/** A file the tool may write: not a folder, in a folder outputDir accepts. */
export function outputFile(value: string, flag: string): string {
  if (fs.existsSync(value) && fs.statSync(value).isDirectory()) throw new UsageError(`${flag} ${value}: is a folder, expected a file name`);
  outputDir(path.dirname(path.resolve(value)), flag);
  return value;
}

type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * Runs `main` and exits with the code it returns (0 when it returns nothing). HelpRequest prints the
 * usage on stdout (exit 0); UsageError and the classes in `badInput` (e.g. a dataset that does not
 * parse) print `error: ...` and exit 2; anything else prints `error: ...` and exits 1.
 */
export function runMain(main: () => Promise<number | void>, badInput: ErrorClass[] = []): void {
  main().then(
    (code) => process.exit(typeof code === "number" ? code : 0),
    (e: unknown) => {
      if (e instanceof HelpRequest) {
        process.stdout.write(e.usage.endsWith("\n") ? e.usage : `${e.usage}\n`);
        process.exit(0);
      }
      const message = e instanceof Error ? e.message : String(e);
      process.stderr.write(`error: ${message}\n`);
      process.exit([UsageError, ...badInput].some((k) => e instanceof k) ? 2 : 1);
    },
  );
}
