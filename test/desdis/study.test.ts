// The DesDis study's grid, its run lookup and its tables, on run folders written by hand (no training):
// every mean, sd and difference below is worked out from the numbers written into those folders.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { distillRunKey, distillRunName } from "../../lib/desdis/config";
import { DISTILL_FILES } from "../../lib/desdis/distill";
import type { PatchDetector } from "../../lib/desdis/patch-extractor";
import { FINAL_SHA256, planStudy, STUDY_DEFAULTS, studyCells, StudyCell, cellConfig } from "../../lib/desdis/study";
import { memoizedDetector, patchSummaryFile, studentComparisons, studyRows, comparisonText } from "../../lib/desdis/study-results";
import { differenceWithSpread } from "../../lib/eval/seeds";

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "desdis-study-"));

test("the default grid: 9 teachers, 9 light-alone, 18 students, and a one-factor sweep without repeating the main grid's cells", () => {
  const cells = studyCells(STUDY_DEFAULTS);
  const count = (f: (c: StudyCell) => boolean) => cells.filter(f).length;
  assert.equal(count((c) => c.role === "teacher"), 3 * 3);
  assert.equal(count((c) => c.role === "light-alone"), 3 * 3);
  assert.equal(count((c) => !c.sweep && (c.role === "equal" || c.role === "light")), 2 * 3 * 3);
  // One factor at a time: square and hinge at lambda 1, abs at 0.3 and 3, per seed; (abs, 1) is the main grid's.
  assert.equal(count((c) => c.sweep), 4 * 2);
  assert.deepEqual(cells.filter((c) => c.sweep && c.seed === 0).map((c) => `${c.form}${c.lambda}`), ["square1", "hinge1", "abs0.3", "abs3"]);
  assert.equal(cells.length, 9 + 9 + 18 + 8);
  const lastTeacher = cells.map((c) => c.role).lastIndexOf("teacher");
  const firstStudent = cells.findIndex((c) => c.role === "equal" || c.role === "light");
  assert.ok(lastTeacher < firstStudent, "teachers come before every student");
  const keys = cells.map((c) => JSON.stringify([c.role, c.loss, c.seed, c.form, c.lambda]));
  assert.equal(new Set(keys).size, keys.length, "no cell twice");
});

test("a student's run key follows its teacher's content, not where the teacher's file lies", () => {
  const teacher = { file: "outputs/desdis/t/final.safetensors", sha256: "a".repeat(64), architecture: "l2net" as const, width: 32 };
  const cell: StudyCell = { role: "light", loss: "hardnet", seed: 0, form: "abs", lambda: 1, sweep: false };
  const a = cellConfig(cell, { width: 32 }, teacher);
  const moved = cellConfig(cell, { width: 32 }, { ...teacher, file: "data/desdis/t/final.safetensors" });
  const other = cellConfig(cell, { width: 32 }, { ...teacher, sha256: "b".repeat(64) });
  assert.equal(distillRunKey(moved), distillRunKey(a));
  assert.notEqual(distillRunKey(other), distillRunKey(a));
  assert.match(distillRunName(cellConfig({ role: "light-alone", loss: "sosnet", seed: 1, sweep: false }, { width: 16 })), /^alone-sosnet-desdis16-b128-n100-seed1-/);
});

/** A finished run folder written by hand: config, one train record at the last step, one val record. */
function writeRun(root: string, config: ReturnType<typeof cellConfig>, val: Record<string, number>, opts: { final?: boolean } = {}): string {
  const dir = path.join(root, distillRunName(config));
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, DISTILL_FILES.config), JSON.stringify(config));
  const lines = [
    { type: "train", step: config.steps, lr: 0, loss: 1, terms: {}, grad_norm: 1, batch_ms: 1, step_ms: 1 },
    { type: "val", step: config.steps, patches: 10, pairs: 10, ms: 1, ...val },
  ];
  fs.writeFileSync(path.join(dir, DISTILL_FILES.metrics), lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
  if (opts.final) fs.writeFileSync(path.join(dir, DISTILL_FILES.final), "weights");
  return dir;
}

function writeMma(dir: string, dataset: string, mma3: number): void {
  const thresholds = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const file = patchSummaryFile(dir, dataset);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify({ method: path.basename(dir), dataset, thresholds, mma: thresholds.map((t) => (t === 3 ? mma3 : 0.5)), mma_i: [], mma_v: [] }));
}

test("planStudy finds runs in any root, lets students wait for unfinished teachers, and names teachers by their recorded hash", () => {
  const out = tmp(), shipped = tmp();
  const options = { ...STUDY_DEFAULTS, losses: ["hardnet" as const], seeds: [0, 1], sweep: null };
  const cells = studyCells(options);
  const t0 = cellConfig({ role: "teacher", loss: "hardnet", seed: 0, sweep: false }, options);
  const t1 = cellConfig({ role: "teacher", loss: "hardnet", seed: 1, sweep: false }, options);
  const dir0 = writeRun(shipped, t0, { fpr95: 0.3 }); // shipped without weights: finished by its metrics
  fs.writeFileSync(path.join(dir0, FINAL_SHA256), "c".repeat(64) + "\n");
  const dir1 = path.join(out, distillRunName(t1));
  fs.mkdirSync(dir1, { recursive: true });
  fs.writeFileSync(path.join(dir1, DISTILL_FILES.config), JSON.stringify(t1)); // started, not finished

  const { runs, waiting } = planStudy(cells, options, [out, shipped], out);
  const teacher0 = runs.find((r) => r.cell.role === "teacher" && r.cell.seed === 0)!;
  assert.equal(teacher0.dir, dir0);
  assert.equal(teacher0.finished, true);
  assert.equal(runs.find((r) => r.cell.role === "teacher" && r.cell.seed === 1)!.finished, false);
  assert.deepEqual(waiting.map((c) => `${c.role}/${c.seed}`).sort(), ["equal/1", "light/1"]);
  const student = runs.find((r) => r.cell.role === "light" && r.cell.seed === 0)!;
  assert.equal(student.config.teacher!.sha256, "c".repeat(64));
  assert.equal(student.dir, path.join(out, distillRunName(student.config)), "a missing run goes to the output folder");
});

test("studyRows: mean and sample sd over seeds; a student against its teacher, FPR95 lower is better", () => {
  const root = tmp();
  const options = { ...STUDY_DEFAULTS, losses: ["hardnet" as const], seeds: [0, 1], sweep: null };
  const dataset = "data/hpatches-sample";
  const runs = [];
  // teacher: FPR95 0.30 and 0.50 -> mean 0.40, sd sqrt(((-0.1)^2 + 0.1^2) / 1) = 0.141421; MMA@3 0.60 and 0.64 -> 0.62, sd 0.028284
  // light student: FPR95 0.10 and 0.12 -> 0.11, sd 0.014142; MMA@3 0.70, 0.70 -> 0.70, sd 0
  const plan: [StudyCell, number[], number[]][] = [
    [{ role: "teacher", loss: "hardnet", seed: 0, sweep: false }, [0.3], [0.6]],
    [{ role: "teacher", loss: "hardnet", seed: 1, sweep: false }, [0.5], [0.64]],
    [{ role: "light", loss: "hardnet", seed: 0, form: "abs", lambda: 1, sweep: false }, [0.1], [0.7]],
    [{ role: "light", loss: "hardnet", seed: 1, form: "abs", lambda: 1, sweep: false }, [0.12], [0.7]],
    // light alone: FPR95 0.20 and 0.24 -> 0.22, sd 0.028284
    [{ role: "light-alone", loss: "hardnet", seed: 0, sweep: false }, [0.2], [0.7]],
    [{ role: "light-alone", loss: "hardnet", seed: 1, sweep: false }, [0.24], [0.7]],
  ];
  const teacherRef = { file: "t.safetensors", sha256: "d".repeat(64), architecture: "l2net" as const, width: 32 };
  for (const [cell, [fpr95], [mma3]] of plan) {
    const config = cellConfig(cell, options, cell.role === "teacher" ? undefined : { ...teacherRef, sha256: String(cell.seed).repeat(64) });
    const dir = writeRun(root, config, { fpr95, verification: 0.9, matching: 0.5 + fpr95, retrieval: 0.8 });
    writeMma(dir, dataset, mma3);
    runs.push({ cell, config, dir, finished: true });
  }
  const speeds = [{ network: "l2net", params: 1, ms_per_1000_patches: 800, ms_per_image: 2000, detector: "kaze", detector_ms: 1, keypoints: 1, backend: "wasm", threads: 2 }];
  const rows = studyRows(runs, [dataset], speeds);
  assert.equal(rows.length, 3);
  const [teacher, light] = rows;
  assert.equal(teacher.label, "teacher (hardnet, l2net)");
  assert.ok(Math.abs(teacher.scores.fpr95.mean! - 0.4) < 1e-12);
  assert.ok(Math.abs(teacher.scores.fpr95.sd! - 0.141421356) < 1e-8);
  assert.ok(Math.abs(teacher.mma3["hpatches-sample"].sd! - 0.028284271) < 1e-8);
  assert.equal(teacher.speed?.ms_per_1000_patches, 800);
  assert.equal(light.speed, undefined, "no speed line for desdis32");
  assert.deepEqual(light.seeds, [0, 1]);

  const cmp = studentComparisons(rows);
  const fpr = cmp.find((c) => c.metric === "fpr95" && c.reference === teacher.label)!;
  // 100 (0.11 - 0.40) = -29 pp against a spread of 100 max(0.141421, 0.014142) = 14.14 pp: lower, and beyond the spread
  assert.ok(Math.abs(fpr.difference.difference + 29) < 1e-9);
  assert.ok(Math.abs(fpr.difference.spread! - 14.1421356) < 1e-6);
  assert.equal(fpr.studentBetter, true);
  assert.match(comparisonText(fpr), /fpr95: −29\.00 pp \(larger seed sd 14\.14\): student better beyond the seed spread$/);
  // matching mAP = 0.5 + FPR95: 0.61 vs 0.90 -> -29 pp, a higher score would be better: worse beyond the spread
  const matching = cmp.find((c) => c.metric === "matching" && c.reference === teacher.label)!;
  assert.equal(matching.studentBetter, false);
  assert.equal(matching.difference.exceedsSpread, true);
  // MMA@3: 70 - 62 = +8 pp against max(2.83, 0) = 2.83: better beyond the spread
  const mma = cmp.find((c) => c.metric === "MMA@3 hpatches-sample" && c.reference === teacher.label)!;
  assert.ok(Math.abs(mma.difference.difference - 8) < 1e-9);
  assert.equal(mma.studentBetter, true);
  // The light student against the light network alone: 11 - 22 = -11 pp of FPR95, spread max(1.41, 2.83) = 2.83 pp.
  const alone = cmp.find((c) => c.metric === "fpr95" && c.reference === "light alone (hardnet, desdis32)")!;
  assert.ok(Math.abs(alone.difference.difference + 11) < 1e-9);
  assert.ok(Math.abs(alone.difference.spread! - 2.8284271) < 1e-6);
  assert.equal(alone.studentBetter, true);
  assert.equal(cmp.filter((c) => c.reference === "light alone (hardnet, desdis32)").length, 5, "4 held-out scores + MMA@3 on one test set");
});

test("differenceWithSpread: points of difference against the larger sd; unknown with one seed", () => {
  const d = differenceWithSpread({ mean: 0.5, sd: 0.02, n: 3 }, { mean: 0.47, sd: 0.04, n: 3 });
  assert.ok(Math.abs(d.difference - 3) < 1e-9);
  assert.ok(Math.abs(d.spread! - 4) < 1e-9);
  assert.equal(d.exceedsSpread, false);
  const one = differenceWithSpread({ mean: 0.5, sd: null, n: 1 }, { mean: 0.4, sd: 0.01, n: 3 });
  assert.equal(one.spread, null);
  assert.equal(one.exceedsSpread, null);
});

test("memoizedDetector detects each image once, keyed by its pixels and the keypoint budget", async () => {
  let calls = 0;
  const inner: PatchDetector = {
    name: "counting",
    detect: (_img, max) => {
      calls++;
      return { keypoints: new Float32Array(2 * max), supports: new Float32Array(max), scores: new Float32Array(max) };
    },
  };
  const d = memoizedDetector(inner);
  const img = (v: number) => ({ width: 2, height: 1, data: new Uint8Array(6).fill(v) });
  const first = await d.detect(img(1), 3);
  assert.equal(await d.detect(img(1), 3), first, "a second read of the same pixels is the first result");
  assert.equal(calls, 1);
  await d.detect(img(2), 3);
  await d.detect(img(1), 4);
  assert.equal(calls, 3);
});
