import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { loadCheckpoint } from "../../lib/models/checkpoint";
import { RUN_FILES } from "../../lib/training/trainer";
import { makeTinyImageFolder } from "./fixtures";

const ROOT = path.resolve(__dirname, "../..");
const SCRIPT = path.join(ROOT, "scripts/train.ts");
let root: string;

before(async () => {
  root = await makeTinyImageFolder(64);
});
after(() => fs.rmSync(root, { recursive: true, force: true }));

const args = (out: string, extra: string[] = []) => [
  "--config", "psrd", "--teacher", "classical", "--images", path.join(root, "images"), "--cache", path.join(root, "cache"),
  "--out", out, "--steps", "8", "--width", "0.25", "--size", "48", "--batch", "2", "--validate-every", "4",
  "--validation-pairs", "2", "--checkpoint-every", "1", "--quiet", ...extra,
];
const run = (a: string[]) => spawnSync(process.execPath, ["--import", "tsx", SCRIPT, ...a], { encoding: "utf8", cwd: ROOT });

test("bad input: one error line naming the flag or folder, exit 2, before any work", () => {
  const help = run(["--help"]);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^usage: npm run train -- --config baseline\|psrd\|psrd-wsc\|full --teacher human\|classical\|sam/);
  const cases: [string[], RegExp][] = [
    [["--config", "huge", "--teacher", "human"], /^error: --config huge: expected one of baseline, psrd, psrd-wsc, full\n$/],
    [["--config", "full"], /^error: --teacher is required/],
    [["--config", "full", "--teacher", "human", "--size", "100"], /^error: --size 100: must be a multiple of 8\n$/],
    [["--config", "full", "--teacher", "human", "--weights", "foo=1"], /^error: --weights foo=1: 'foo' is not a loss term/],
    [["--config", "full", "--teacher", "human", "--stepz", "3"], /^error: Unknown option '--stepz'/],
    [["--config", "full", "--teacher", "human", "--images", path.join(root, "nowhere")], /^error: --images .*nowhere: not a folder\n$/],
  ];
  for (const [a, re] of cases) {
    const r = run(a);
    assert.equal(r.status, 2, `${a.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
  const empty = path.join(root, "empty");
  fs.mkdirSync(empty, { recursive: true });
  const r = run(["--config", "full", "--teacher", "human", "--images", empty]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^error: --images .*empty: no images/);
});

test("a run killed with SIGKILL resumes with --resume to the weights of an uninterrupted run; a finished run is not retrained", async () => {
  const whole = run(args(path.join(root, "whole")));
  assert.equal(whole.status, 0, whole.stderr);
  const [wholeDir] = fs.readdirSync(path.join(root, "whole"));
  assert.match(wholeDir, /^psrd-classical-w0\.25-s48-b2-n8-seed0-[0-9a-f]{10}$/);

  const killedOut = path.join(root, "killed");
  const child = spawn(process.execPath, ["--import", "tsx", SCRIPT, ...args(killedOut)], { cwd: ROOT, stdio: "ignore" });
  const metrics = () => {
    const dirs = fs.existsSync(killedOut) ? fs.readdirSync(killedOut) : [];
    const f = dirs.length ? path.join(killedOut, dirs[0], RUN_FILES.metrics) : "";
    return f && fs.existsSync(f) ? fs.readFileSync(f, "utf8").split("\n").filter((l) => l.includes('"train"')).length : 0;
  };
  const deadline = Date.now() + 120_000;
  while (metrics() < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  child.kill("SIGKILL");
  await new Promise((r) => child.once("exit", r));
  const dir = path.join(killedOut, wholeDir);
  assert.ok(!fs.existsSync(path.join(dir, RUN_FILES.final)), "killed before the end");

  const again = run(args(killedOut));
  assert.equal(again.status, 2);
  assert.match(again.stderr, /an unfinished run with these flags exists; add --resume/);
  const resumed = run(args(killedOut, ["--resume"]));
  assert.equal(resumed.status, 0, resumed.stderr);

  const a = loadCheckpoint(path.join(root, "whole", wholeDir, RUN_FILES.final));
  const b = loadCheckpoint(path.join(dir, RUN_FILES.final));
  let d = 0;
  for (const [k, p] of a.params) {
    const x = p.dataSync(), y = b.params.get(k)!.dataSync();
    for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i] - y[i]));
  }
  a.dispose();
  b.dispose();
  assert.ok(d <= 1e-5, `weights after kill + resume differ by ${d}`);

  const finished = run(args(killedOut, ["--resume"]));
  assert.equal(finished.status, 0);
  assert.match(finished.stdout, /is finished \(final\.safetensors\); nothing to do/);
});

test("Ctrl-C (SIGINT) saves a checkpoint at the current step and exits 0 with how to continue", async () => {
  const out = path.join(root, "interrupted");
  const child = spawn(process.execPath, ["--import", "tsx", SCRIPT, ...args(out, ["--steps", "40"])], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  child.stdout!.on("data", (d) => (stdout += d));
  const metrics = () => {
    const dirs = fs.existsSync(out) ? fs.readdirSync(out) : [];
    const f = dirs.length ? path.join(out, dirs[0], RUN_FILES.metrics) : "";
    return f && fs.existsSync(f) ? fs.readFileSync(f, "utf8").split("\n").filter((l) => l.includes('"train"')).length : 0;
  };
  const deadline = Date.now() + 120_000;
  while (metrics() < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  child.kill("SIGINT");
  const code = await new Promise((r) => child.once("exit", r));
  assert.equal(code, 0);
  const m = /interrupted at step (\d+) of 40; checkpoint .*last\.safetensors; continue with the same flags and --resume/.exec(stdout);
  assert.ok(m, stdout);
  const [dir] = fs.readdirSync(out);
  const { checkpointMetadata } = await import("../../lib/models/checkpoint");
  assert.equal(checkpointMetadata(path.join(out, dir, RUN_FILES.last)).step, m![1]);
  assert.ok(Number(m![1]) < 40 && !fs.existsSync(path.join(out, dir, RUN_FILES.final)));
});
