// What every command-line script does on the way out, in one place: a failure prints one line,
// `error: <message>`, on stderr, and the exit code says whose fault it was (2: how the command was
// called or what it was given; 1: anything else).

/** A bad flag or flag value: exit code 2. */
export class UsageError extends Error {}

/**
 * Reads `--flag value` pairs for the flags in `valued` and bare `--flag` switches for those in
 * `switches`; `--help` or `-h` throws the usage line. Anything else, or a valued flag without a
 * value, is a UsageError. Keys keep their dashes: values["--out"].
 */
export function readFlags(
  argv: string[],
  spec: { valued: string[]; switches?: string[]; usage: string },
): { values: Record<string, string>; switches: Set<string> } {
  const values: Record<string, string> = {};
  const switches = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (spec.switches?.includes(a)) {
      switches.add(a);
      continue;
    }
    if (a === "--help" || a === "-h") throw new UsageError(spec.usage);
    if (!spec.valued.includes(a)) throw new UsageError(`unknown argument "${a}" (${spec.usage})`);
    const v = argv[i + 1];
    if (v === undefined || v.startsWith("--")) throw new UsageError(`${a} needs a value`);
    values[a] = v;
    i++;
  }
  return { values, switches };
}

type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * Runs `main` and exits with the code it returns (0 when it returns nothing). Errors of the classes
 * in `badInput` (besides UsageError), e.g. a dataset that does not parse, exit with 2.
 */
export function runMain(main: () => Promise<number | void>, badInput: ErrorClass[] = []): void {
  main().then(
    (code) => process.exit(typeof code === "number" ? code : 0),
    (e: unknown) => {
      const message = e instanceof Error ? e.message : String(e);
      process.stderr.write(`error: ${message}\n`);
      process.exit([UsageError, ...badInput].some((k) => e instanceof k) ? 2 : 1);
    },
  );
}
