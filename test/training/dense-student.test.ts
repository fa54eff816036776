// The dense DesDis variant (npm run train --distill-from): the optional `distill` config field leaves
// every ordinary config and its hash as they were; a tiny dense student trains with its `distill`
// term logged, resumes exactly and names the term when it diverges; the command line checks its
// flags and the teacher file before any work.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { initEngine } from "../../lib/engine/index";
import { checkpointMetadata, loadCheckpoint, saveCheckpoint } from "../../lib/models/checkpoint";
import { SamFeatNet } from "../../lib/models/samfeat";
import { checkConfig, defaultRunName, resolveConfig, runKey, TRAIN_DEFAULTS, TrainConfig } from "../../lib/training/config";
import { readDistillTeacher } from "../../lib/training/dense-student";
import { PairSources } from "../../lib/training/sources";
import { DivergenceError, readMetrics, RUN_FILES, train, TrainRecord } from "../../lib/training/trainer";
import { projectPath } from "../../lib/util/project";
import { makeTinyImageFolder, tinySources } from "./fixtures";

const SCRIPT = projectPath("scripts", "train.ts");
let root: string;
let teacherFile: string;
let sources: { train: PairSources; validation: PairSources };

before(async () => {
  await initEngine({ quiet: true });
  root = await makeTinyImageFolder(64);
  sources = await tinySources(root);
  // A freshly initialised SamFeatNet of width 0.5 without the EAG paths, saved as a baseline run would.
  teacherFile = path.join(root, "teacher.safetensors");
  const net = new SamFeatNet({ width: 0.5, seed: 5, eag: false });
  saveCheckpoint(teacherFile, net, { step: 0, row: "baseline", teacher: "classical" });
  net.dispose();
});
after(() => fs.rmSync(root, { recursive: true, force: true }));

function tinyStudent(steps: number, distill: { lambda?: number } = {}): TrainConfig {
  return resolveConfig("baseline", "classical", {
    steps,
    width: 0.25,
    size: 48,
    batch: 2,
    validateEvery: 3,
    validationPairs: 2,
    checkpointEvery: 2,
    images: path.join(root, "images"),
    distill: { teacher: readDistillTeacher(teacherFile), ...distill },
  });
}

function weights(file: string): Map<string, Float32Array> {
  const net = loadCheckpoint(file);
  const out = new Map([...net.params].map(([k, p]) => [k, p.dataSync() as Float32Array]));
  net.dispose();
  return out;
}

test("config hash: a config without distill has no distill key and hashes as the shipped runs' folder names say", () => {
  const shipped = projectPath("data", "runs");
  const runs = fs.readdirSync(shipped).filter((d) => fs.existsSync(path.join(shipped, d, "config.json")));
  assert.ok(runs.length >= 3, `shipped runs: ${runs.join(", ")}`);
  for (const name of runs) {
    const onDisk = JSON.parse(fs.readFileSync(path.join(shipped, name, "config.json"), "utf8")) as TrainConfig;
    assert.equal(name.slice(name.lastIndexOf("-") + 1), runKey(onDisk), name);
    // The same flags resolve to the same config (an ordinary one with no distill key at all), and so to the same folder.
    const d = onDisk.distill;
    const resolved = resolveConfig(onDisk.row, onDisk.teacher, { seed: onDisk.seed, width: onDisk.network.width, steps: onDisk.steps, ...(d ? { distill: { teacher: d.teacher, form: d.form, lambda: d.lambda } } : {}) });
    assert.equal("distill" in resolved, d !== undefined, "a distill key only in a dense student's config");
    assert.equal(runKey(resolved), name.slice(name.lastIndexOf("-") + 1), name);
    assert.equal(defaultRunName(resolved), name);
    assert.doesNotThrow(() => checkConfig(onDisk, name));
  }
  const base = runs.find((r) => r.startsWith(`baseline-human-w0.5-s192-b4-n${TRAIN_DEFAULTS.steps}-seed0-`))!;
  assert.equal(runKey(resolveConfig("baseline", "human")), base.slice(-10));
});

test("config: a dense student records its teacher, names its folder so, and checkConfig refuses a bad distill field", () => {
  const c = tinyStudent(6, { lambda: 2 });
  const sha = crypto.createHash("sha256").update(fs.readFileSync(teacherFile)).digest("hex");
  // Outside the project (a temporary folder) the file stays absolute; inside it would be project-relative.
  assert.deepEqual(c.distill!.teacher, { file: teacherFile, sha256: sha, width: 0.5, row: "baseline" });
  assert.equal(c.distill!.form, "abs");
  assert.equal(c.distill!.lambda, 2);
  assert.equal(defaultRunName(c), `dense-student-baseline-classical-w0.25-s48-b2-n6-seed0-from-${sha.slice(0, 8)}-abs2-${runKey(c)}`);
  // The student differs from the ordinary run of the same flags only by its distill field.
  const { distill: _, ...rest } = c;
  assert.deepEqual(rest, tinyStudentWithout());
  const bad = (patch: unknown) => () => checkConfig({ ...c, distill: patch } as TrainConfig, "config.json");
  assert.throws(bad(null), /^Error: config\.json: distill must be absent or an object, got null$/);
  assert.throws(bad(undefined), /distill must be absent or an object, got undefined/);
  assert.throws(bad({ ...c.distill, form: "cube" }), /distill\.form 'cube' is not one of abs, square, hinge/);
  assert.throws(bad({ ...c.distill, lambda: -1 }), /distill\.lambda -1 must be a number >= 0/);
  assert.throws(bad({ ...c.distill, teacher: { ...c.distill!.teacher, sha256: "abc" } }), /distill\.teacher\.sha256 'abc' must be 64 hex digits/);
  assert.throws(bad({ ...c.distill, teacher: { ...c.distill!.teacher, row: "huge" } }), /distill\.teacher\.row 'huge'/);
  assert.doesNotThrow(bad({ ...c.distill, teacher: { ...c.distill!.teacher, row: null } }));
  // Not a SamFeatNet checkpoint, or none at all.
  assert.throws(() => readDistillTeacher(path.join(root, "nowhere.safetensors")), /nowhere\.safetensors: file not found/);
  assert.throws(() => readDistillTeacher(projectPath("data", "desdis-weights", "desdis-8.safetensors")), /not a SamFeatNet checkpoint/);
});

function tinyStudentWithout(): TrainConfig {
  return resolveConfig("baseline", "classical", { steps: 6, width: 0.25, size: 48, batch: 2, validateEvery: 3, validationPairs: 2, checkpointEvery: 2, images: path.join(root, "images") });
}

test("a tiny dense student logs a finite, positive distill term in every train record, and resuming after 3 steps ends with the weights of 6 uninterrupted", async () => {
  const config = tinyStudent(6, { lambda: 2 });
  const whole = path.join(root, "runs", "whole");
  await train(config, whole, sources, { quiet: true });
  const records = readMetrics(whole).filter((r): r is TrainRecord => r.type === "train");
  assert.deepEqual(records.map((r) => r.step), [1, 2, 3, 4, 5, 6]);
  for (const r of records) {
    assert.deepEqual(Object.keys(r.terms).sort(), ["des", "det", "distill"]);
    assert.ok(Number.isFinite(r.terms.distill) && r.terms.distill! > 0, `step ${r.step}: distill ${r.terms.distill}`);
    // The total is det + des + lambda * distill.
    const sum = r.terms.det! + r.terms.des! + 2 * r.terms.distill!;
    assert.ok(Math.abs(sum - r.loss) < 1e-4 * Math.max(1, r.loss), `step ${r.step}: ${sum} vs ${r.loss}`);
  }
  // Live tensors stay flat (the teacher's outputs are freed every step).
  assert.equal(new Set(records.slice(2).map((r) => r.tensors)).size, 1, `live tensors: ${records.map((r) => r.tensors)}`);
  // The checkpoints are the student's: its width and paths.
  const meta = checkpointMetadata(path.join(whole, RUN_FILES.final));
  assert.equal(meta.width, "0.25");
  assert.equal(meta.eag, "false");

  const parts = path.join(root, "runs", "parts");
  let steps = 0;
  const first = await train(config, parts, sources, { quiet: true, shouldStop: () => ++steps >= 3 });
  assert.equal(first.status, "interrupted");
  assert.equal(checkpointMetadata(path.join(parts, RUN_FILES.last)).step, "3");
  const second = await train(config, parts, sources, { quiet: true, resume: true });
  assert.equal(second.status, "finished");
  const a = weights(path.join(whole, RUN_FILES.final));
  const b = weights(path.join(parts, RUN_FILES.final));
  let d = 0;
  for (const [k, x] of a) x.forEach((v, i) => (d = Math.max(d, Math.abs(v - b.get(k)![i]))));
  assert.ok(d <= 1e-5, `resumed weights differ by ${d}`);
  const distills = (dir: string) => readMetrics(dir).filter((r): r is TrainRecord => r.type === "train").map((r) => r.terms.distill!);
  distills(parts).forEach((v, i) => assert.ok(Math.abs(v - distills(whole)[i]) < 1e-5, `step ${i + 1}: ${v} vs ${distills(whole)[i]}`));
});

test("a dense student stops naming the distill term when it is not finite; a teacher changed since the run was configured is refused", async () => {
  const config = tinyStudent(4);
  const err = await train(config, path.join(root, "runs", "nan"), sources, { quiet: true, corruptTerm: { step: 1, term: "distill" } }).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof DivergenceError, String(err));
  assert.match((err as Error).message, /^step 2: loss term 'distill' is NaN; training stopped before the update/);

  const changed = { ...config, distill: { ...config.distill!, teacher: { ...config.distill!.teacher, sha256: "0".repeat(64) } } };
  await assert.rejects(train(changed, path.join(root, "runs", "changed"), sources, { quiet: true }), /the teacher's weights changed since the run was configured/);
});

const cli = (args: string[]) => spawnSync(process.execPath, ["--import", "tsx", SCRIPT, ...args], { encoding: "utf8", cwd: projectPath() });

test("CLI: --reg or --lambda without --distill-from, and a missing or wrong teacher file, exit 2 with one error line", () => {
  const base = ["--config", "baseline", "--teacher", "human", "--width", "0.25"];
  const notText = path.join(root, "not-a-checkpoint.safetensors");
  fs.writeFileSync(notText, "hello");
  const cases: [string[], RegExp][] = [
    [["--reg", "abs"], /^error: --reg needs --distill-from FILE/],
    [["--lambda", "0.5"], /^error: --lambda needs --distill-from FILE/],
    [["--distill-from", path.join(root, "nowhere.safetensors")], /^error: --distill-from .*nowhere\.safetensors: file not found$/],
    [["--distill-from", notText], /^error: --distill-from .*not-a-checkpoint\.safetensors: not a valid safetensors file/],
    [["--distill-from", projectPath("data", "desdis-weights", "desdis-8.safetensors")], /^error: --distill-from .*desdis-8\.safetensors: not a SamFeatNet checkpoint/],
    [["--distill-from", teacherFile, "--reg", "cube"], /^error: --reg cube: expected one of abs, square, hinge$/],
    [["--distill-from", teacherFile, "--lambda", "-1"], /^error: --lambda -1: expected a number >= 0$/],
  ];
  for (const [extra, re] of cases) {
    const r = cli([...base, ...extra]);
    const what = extra.join(" ");
    assert.equal(r.status, 2, `${what}: ${r.stderr}`);
    assert.equal(r.stdout, "", what);
    assert.match(r.stderr, /^error: [^\n]+\n$/, `${what}: one line`);
    assert.match(r.stderr.trimEnd(), re, what);
  }
  const help = cli(["--help"]);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--distill-from FILE/);
  assert.match(help.stdout, /--reg abs\|square\|hinge/);
});

test("CLI: --distill-from trains a dense student into a dense-student-... folder", () => {
  const out = path.join(root, "cli-runs");
  const args = [
    "--config", "baseline", "--teacher", "classical", "--images", path.join(root, "images"), "--cache", path.join(root, "cache"),
    "--out", out, "--steps", "2", "--width", "0.25", "--size", "48", "--batch", "2", "--validate-every", "2",
    "--validation-pairs", "2", "--quiet", "--distill-from", teacherFile, "--reg", "square", "--lambda", "0.5",
  ];
  const r = cli(args);
  assert.equal(r.status, 0, r.stderr);
  const [dir] = fs.readdirSync(out);
  const sha = readDistillTeacher(teacherFile).sha256;
  assert.match(dir, new RegExp(`^dense-student-baseline-classical-w0\\.25-s48-b2-n2-seed0-from-${sha.slice(0, 8)}-square0\\.5-[0-9a-f]{10}$`));
  const config = JSON.parse(fs.readFileSync(path.join(out, dir, RUN_FILES.config), "utf8")) as TrainConfig;
  assert.deepEqual(config.distill, { teacher: { file: teacherFile, sha256: sha, width: 0.5, row: "baseline" }, form: "square", lambda: 0.5 });
  const train = readMetrics(path.join(out, dir)).filter((x): x is TrainRecord => x.type === "train");
  assert.ok(train.length === 2 && train.every((x) => x.terms.distill! > 0));
});
