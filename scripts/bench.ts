// Speed of the SAMFeat network: one JSON line, comparable with bench/torch_reference.py.
//
//   npm run bench -- [--width 1.0] [--size 192] [--batch 4] [--infer-size 480x640] [--steps 5]
//                    [--threads 1] [--backend tensorflow|webgpu|wasm|cpu] [--compare-torch]
//
// Flags and defaults are the reference's; --compare-torch then runs the reference with the
// same flags and prints its JSON line and a line of ratios (this workbench / PyTorch), using
// /usr/bin/python3 (Debian's, which has python3-torch) unless SAMFEAT_PYTHON names another.
import { spawnSync } from "node:child_process";
import type { BackendName } from "../lib/engine";
import type { BenchmarkResult } from "../lib/models/benchmark";
import { scaledChannels } from "../lib/models/samfeat";
import { choiceFlag, parseCommandLine, positiveFlag, runMain, UsageError } from "../lib/util/cli";
import { PROJECT_ROOT, projectPath } from "../lib/util/project";

const PYTHON = process.env.SAMFEAT_PYTHON ?? "/usr/bin/python3";
const BACKENDS: BackendName[] = ["tensorflow", "webgpu", "wasm", "cpu"];
const USAGE = [
  "usage: npm run bench -- [--width W] [--size PX] [--batch N] [--infer-size HxW] [--steps N] [--threads N] [--backend tensorflow|webgpu|wasm|cpu] [--compare-torch]",
  "  --width W          channel multiplier of the network (default 1.0)",
  "  --size PX          training crop side, a multiple of 8 (default 192)",
  "  --batch N          image pairs per training step (default 4)",
  "  --infer-size HxW   inference image size, multiples of 8 (default 480x640)",
  "  --steps N          timed steps after one warm-up (default 5)",
  "  --threads N        compute threads (default 1)",
  "  --backend NAME     force a backend (default: the engine's choice)",
  "  --compare-torch    also run bench/torch_reference.py with the same flags and print the ratios",
].join("\n");
/** The widest layer has 256 channels at width 1: when even it clamps to the minimum, so does every layer. */
const WIDEST_LAYER = 256;

interface Flags {
  width: number;
  size: number;
  batch: number;
  inferSize: [number, number];
  steps: number;
  threads: number;
  backend?: BackendName;
  compareTorch: boolean;
}

function positiveInt(flag: string, raw: string): number {
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new UsageError(`${flag} ${raw}: expected an integer >= 1`);
  return Number(raw);
}

function multipleOf8(flag: string, raw: string): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 8 || n % 8 !== 0) throw new UsageError(`${flag} ${raw}: expected a positive multiple of 8`);
  return n;
}

export function parseFlags(argv: string[]): Flags {
  const v = parseCommandLine(argv, {
    usage: USAGE,
    options: {
      width: { type: "string", default: "1.0" },
      size: { type: "string", default: "192" },
      batch: { type: "string", default: "4" },
      "infer-size": { type: "string", default: "480x640" },
      steps: { type: "string", default: "5" },
      threads: { type: "string", default: "1" },
      backend: { type: "string" },
      "compare-torch": { type: "boolean", default: false },
    },
  });
  const width = positiveFlag(v.width, "--width")!;
  const minimum = scaledChannels(0, width);
  if (scaledChannels(WIDEST_LAYER, width) <= minimum) {
    throw new UsageError(`--width ${v.width}: every layer would clamp to the ${minimum}-channel minimum (use a width above ${(minimum + 0.5) / WIDEST_LAYER})`);
  }
  const m = /^(\d+)x(\d+)$/.exec(v["infer-size"]);
  if (!m) throw new UsageError(`--infer-size ${v["infer-size"]}: expected HxW (e.g. 480x640)`);
  return {
    width,
    size: multipleOf8("--size", v.size),
    batch: positiveInt("--batch", v.batch),
    inferSize: [multipleOf8("--infer-size height", m[1]), multipleOf8("--infer-size width", m[2])],
    steps: positiveInt("--steps", v.steps),
    threads: positiveInt("--threads", v.threads),
    backend: choiceFlag(v.backend, "--backend", BACKENDS),
    compareTorch: v["compare-torch"],
  };
}

// Runs the reference as a script and then prints its peak RSS (KiB on Linux), which it does not report.
const WITH_PEAK_RSS =
  "import json, resource, runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__'); " +
  "print(json.dumps({'peak_rss_mb': round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))";

function runTorch(f: Flags): Record<string, unknown> {
  const args = [
    "-c", WITH_PEAK_RSS,
    projectPath("bench", "torch_reference.py"),
    "--width", String(f.width), "--size", String(f.size), "--batch", String(f.batch),
    "--infer-size", `${f.inferSize[0]}x${f.inferSize[1]}`, "--threads", String(f.threads), "--steps", String(f.steps),
  ];
  const r = spawnSync(PYTHON, args, { cwd: PROJECT_ROOT, encoding: "utf8" });
  if (r.error) throw new Error(`${PYTHON}: cannot run the PyTorch reference (${r.error.message})`);
  const lines = r.stdout.trim().split("\n");
  if (r.status !== 0) throw new Error(`bench/torch_reference.py exited with ${r.status}: ${r.stderr.trim().split("\n").at(-1)}`);
  try {
    return { ...JSON.parse(lines[lines.length - 2]), ...JSON.parse(lines[lines.length - 1]) };
  } catch {
    throw new Error(`bench/torch_reference.py printed no JSON line (got '${lines.slice(-2).join(" / ")}')`);
  }
}

async function main(): Promise<void> {
  const f = parseFlags(process.argv.slice(2));
  // Loaded after the flags are checked, so a bad flag is reported at once.
  const tf = await import("@tensorflow/tfjs");
  const { describeEngine, initEngine } = await import("../lib/engine");
  const { runBenchmark } = await import("../lib/models/benchmark");
  const { progressBar } = await import("../lib/util/progress");
  const info = await initEngine({ backend: f.backend, threads: f.threads, quiet: true });
  // stdout carries only JSON lines; the engine summary goes to stderr.
  console.error(describeEngine(info));
  const bars = {
    train: progressBar("train steps", f.steps, { quiet: !process.stdout.isTTY }),
    infer: progressBar("inference", f.steps, { quiet: !process.stdout.isTTY }),
  };
  const result: BenchmarkResult = await runBenchmark({
    width: f.width,
    size: f.size,
    batch: f.batch,
    inferSize: f.inferSize,
    steps: f.steps,
    onStep: (phase, done, total) => {
      bars[phase].tick(1);
      if (done === total) bars[phase].stop();
    },
  });
  console.log(JSON.stringify({ engine: `tfjs ${tf.version.tfjs}`, ...result }));
  if (f.compareTorch) {
    const torch = runTorch(f);
    console.log(JSON.stringify(torch));
    const ratio = (a: number, b: unknown) => Math.round((a / Number(b)) * 100) / 100;
    console.log(
      JSON.stringify({
        ratio: "tfjs/torch",
        train_step: ratio(result.train_step_ms, torch.train_step_ms),
        infer: ratio(result.infer_ms, torch.infer_ms),
        peak_rss: ratio(result.peak_rss_mb, torch.peak_rss_mb),
        params_equal: result.params === torch.params,
      }),
    );
  }
}

// The tests import parseFlags from here.
if (require.main === module) runMain(main);
