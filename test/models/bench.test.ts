import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as tf from "@tensorflow/tfjs";
import { initEngine } from "../../lib/engine";
import { runBenchmark } from "../../lib/models/benchmark";
import { projectPath } from "../../lib/util/project";
import { parseFlags } from "../../scripts/bench";

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

test("bench flags: the defaults are bench/torch_reference.py's argparse defaults", () => {
  // Read from the reference itself, so the two cannot drift apart unnoticed.
  const source = fs.readFileSync(projectPath("bench", "torch_reference.py"), "utf8");
  const reference = Object.fromEntries([...source.matchAll(/add_argument\("--([a-z-]+)",[^)]*default=([^,)]+)\)/g)].map((m) => [m[1], m[2].replace(/"/g, "")]));
  const [h, w] = reference["infer-size"].split("x").map(Number);
  assert.deepEqual(parseFlags([]), {
    width: Number(reference.width), size: Number(reference.size), batch: Number(reference.batch), inferSize: [h, w],
    steps: Number(reference.steps), threads: Number(reference.threads), backend: undefined, compareTorch: false,
  });
});

test("bench flags: out-of-range values are refused with a message naming the flag and the value", () => {
  const cases: [string[], RegExp][] = [
    [["--width", "0"], /^--width 0: expected a number > 0$/],
    [["--width", "-0.5"], /^--width -0\.5: expected a number > 0$/],
    // 256 * 0.0175 = 4.48 rounds to 4: the widest layer, and so every layer, at the 4-channel minimum.
    [["--width", "0.0175"], /^--width 0\.0175: every layer would clamp to the 4-channel minimum/],
    [["--size", "100"], /^--size 100: expected a positive multiple of 8$/],
    [["--batch", "-1"], /^--batch -1: expected an integer >= 1$/],
    [["--infer-size", "480x641"], /^--infer-size width 641: expected a positive multiple of 8$/],
    [["--infer-size", "480"], /^--infer-size 480: expected HxW/],
    [["--steps", "0"], /^--steps 0: expected an integer >= 1$/],
    [["--threads", "1.5"], /^--threads 1\.5: expected an integer >= 1$/],
    [["--backend", "gpu"], /^--backend gpu: expected one of tensorflow, webgpu, wasm, cpu$/],
    [["--bogus"], /^Unknown option '--bogus'/],
  ];
  for (const [args, message] of cases) assert.throws(() => parseFlags(args), (e: Error) => message.test(e.message), args.join(" "));
  // 256 * 0.018 = 4.6 rounds to 5: one layer above the minimum is enough.
  assert.equal(parseFlags(["--width", "0.018"]).width, 0.018);
});

test("bench CLI: a bad flag prints one error line on stderr, nothing on stdout, and exits 2", () => {
  const r = spawnSync(process.execPath, ["--import", "tsx", projectPath("scripts", "bench.ts"), "--size", "100"], { cwd: projectPath(), encoding: "utf8" });
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr, "error: --size 100: expected a positive multiple of 8\n");
  assert.equal(r.stdout, "");
});
