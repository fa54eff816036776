// One progress bar for all long work (teacher caching, training, evaluation).
// In a terminal it redraws in place; in a notebook or a CI log (no TTY) it
// prints a line at most every few seconds so output stays readable.
import * as cliProgress from "cli-progress";

export interface Progress {
  /** Advance by `n` steps and optionally update the trailing status text. */
  tick(n?: number, status?: string): void;
  /** Finish the bar (prints the final state once). */
  stop(): void;
}

export interface ProgressOptions {
  /** Silence the bar entirely (tests, nested loops). */
  quiet?: boolean;
}

export function progressBar(label: string, total: number, opts: ProgressOptions = {}): Progress {
  if (opts.quiet) return { tick() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {value}/{total} {percentage}% | {duration_formatted} elapsed, eta {eta_formatted} | {status}`,
      noTTYOutput: true,
      notTTYSchedule: 5000,
      stream: process.stdout,
      hideCursor: false,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { status: "" });
  let value = 0;
  return {
    tick(n = 1, status = "") {
      value += n;
      bar.update(value, { status });
    },
    stop() {
      bar.stop();
    },
  };
}
