import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initEngine } from "../../lib/engine";
import { runBenchmark } from "../../lib/models/benchmark";
import { parseFlags } from "../../scripts/bench";

const ROOT = path.resolve(__dirname, "../..");

test("benchmark: trains without leaking tensors and reports the reference's parameter count", async () => {
  await initEngine({ backend: "wasm", quiet: true });
  const before = tf.memory().numTensors;
  const r = await runBenchmark({ width: 0.25, size: 16, batch: 1, inferSize: [16, 24], steps: 2 });
  assert.equal(r.params, 216_387); // SAMFeatNet(0.25) in bench/torch_reference.py (also the fixture's metadata)
  assert.equal(r.num_tensors_after_last, r.num_tensors_after_warmup);
  assert.equal(tf.memory().numTensors, before, "everything disposed at the end");
  assert.ok(Number.isFinite(r.loss) && r.train_step_ms > 0 && r.infer_ms > 0);
  assert.equal(r.batch_pairs, 1);
  assert.equal(r.infer_size, "16x24");
});

test("bench flags: defaults are the reference's; out-of-range values are refused with a message naming the flag", () => {
  assert.deepEqual(parseFlags([]), {
    width: 1, size: 192, batch: 4, inferSize: [480, 640], steps: 5, threads: 1, backend: undefined, compareTorch: false,
  });
  const cases: [string[], RegExp][] = [
    [["--width", "0"], /--width must be a number > 0/],
    [["--width", "-0.5"], /--width must be a number > 0, got '-0.5'/],
    [["--size", "100"], /--size must be a positive multiple of 8/],
    [["--batch", "-1"], /--batch must be a positive integer, got '-1'/],
    [["--infer-size", "480x641"], /--infer-size width must be a positive multiple of 8/],
    [["--infer-size", "480"], /--infer-size must be HxW/],
    [["--steps", "0"], /--steps must be a positive integer/],
    [["--threads", "1.5"], /--threads must be a positive integer/],
    [["--backend", "gpu"], /--backend 'gpu' is unknown/],
    [["--bogus"], /bogus/],
  ];
  for (const [args, message] of cases) assert.throws(() => parseFlags(args), message, args.join(" "));
});

test("bench CLI: a bad flag prints one error line on stderr, nothing on stdout, and exits 2", () => {
  const tsx = path.join(ROOT, "node_modules", ".bin", "tsx");
  const r = spawnSync(tsx, [path.join(ROOT, "scripts", "bench.ts"), "--size", "100"], { cwd: ROOT, encoding: "utf8" });
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr, "error: --size must be a positive multiple of 8, got '100'\n");
  assert.equal(r.stdout, "");
});
