import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { initEngine } from "../../lib/engine";
import { resolveDistillConfig } from "../../lib/desdis/config";
import { DISTILL_FILES, distill, DivergenceError, readDistillMetrics } from "../../lib/desdis/distill";
import { HeldOutSet } from "../../lib/desdis/held-out";
import { PatchPairSchedule, PatchSource } from "../../lib/desdis/patch-pairs";
import { describePatches, scoreHeldOut } from "../../lib/desdis/patch-eval";
import { fprAt95Recall } from "../../lib/eval/patch-metrics";
import { loadPatchCheckpoint, patchCheckpointMetadata } from "../../lib/models/patch-checkpoint";
import { DesDisStudent } from "../../lib/models/patch-descriptors";
import { photoSources, tinyHeldOut } from "./helpers";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "distill-"));
let sources: PatchSource[];
let heldOut: HeldOutSet;
before(async () => {
  await initEngine({ backend: "cpu", quiet: true });
  sources = await photoSources();
  const h = await tinyHeldOut();
  heldOut = h.set;
  fs.rmSync(h.root, { recursive: true, force: true });
});
process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));

/** A light network of width 4 on 16 pairs a step. */
const tiny = (o: Partial<Parameters<typeof resolveDistillConfig>[0]> = {}) => {
  const c = resolveDistillConfig({ kind: "light", width: 4, batch: 16, steps: 4, validateEvery: 2, checkpointEvery: 2, lr: 0.01, ...o });
  return { ...c, data: { ...c.data, support: 40 } };
};
const data = (config: ReturnType<typeof tiny>, teacher?: DesDisStudent) => ({ schedule: new PatchPairSchedule(sources, config.data, config.seed), heldOut, teacher });

function weights(file: string): Map<string, Float32Array> {
  const net = loadPatchCheckpoint(file);
  const out = new Map([...net.params, ...net.buffers].map(([k, v]) => [k, v.dataSync() as Float32Array]));
  net.dispose();
  return out;
}

test("an interrupted, resumed student run ends with the weights and running statistics of an uninterrupted one", async () => {
  const teacher = new DesDisStudent({ width: 4, seed: 11 });
  const config = tiny({ teacher: { file: "t.safetensors", sha256: "0", architecture: "desdis", width: 4 } });
  const whole = path.join(dir, "whole");
  const r = await distill(config, whole, data(config, teacher), { quiet: true });
  assert.equal(r.status, "finished");
  const parted = path.join(dir, "parted");
  let calls = 0;
  const first = await distill(config, parted, data(config, teacher), { quiet: true, shouldStop: () => ++calls === 3 });
  assert.deepEqual([first.status, first.steps], ["interrupted", 3]);
  assert.equal(patchCheckpointMetadata(path.join(parted, DISTILL_FILES.last)).step, "3");
  await assert.rejects(distill(config, parted, data(config, teacher), { quiet: true }), /a run already exists there/);
  const second = await distill(config, parted, data(config, teacher), { quiet: true, resume: true });
  assert.equal(second.status, "finished");
  teacher.dispose();
  const a = weights(path.join(whole, DISTILL_FILES.final));
  const b = weights(path.join(parted, DISTILL_FILES.final));
  assert.ok(a.has("layer1.2.running_mean"));
  for (const [name, v] of a) assert.deepEqual(b.get(name), v, `${name} differs after resume`);
  // Both terms are logged each step; the held-out scores at steps 2 and 4.
  const records = readDistillMetrics(parted);
  assert.deepEqual(records.filter((x) => x.type === "train").map((x) => x.step), [1, 2, 3, 4]);
  assert.deepEqual(records.filter((x) => x.type === "val").map((x) => x.step), [2, 4]);
  const t = records.find((x) => x.type === "train")!;
  assert.ok(t.type === "train" && t.terms.triplet! > 0 && t.terms.regularizer! >= 0);
  const config2 = JSON.parse(fs.readFileSync(path.join(parted, DISTILL_FILES.config), "utf8"));
  assert.deepEqual(config2.loss, { triplet: "hardnet", regularizer: { form: "abs", lambda: 1 } });
});

test("a NaN loss term stops the run before the update, naming the term and keeping the last good checkpoint", async () => {
  const config = tiny();
  const run = path.join(dir, "nan");
  await assert.rejects(distill(config, run, data(config), { quiet: true, corruptTerm: { step: 2, term: "triplet" } }), (e: Error) => {
    assert.ok(e instanceof DivergenceError);
    assert.match(e.message, /^step 3: loss term 'triplet' is NaN; training stopped before the update, the last good checkpoint, .*last\.safetensors \(step 2\), is kept$/);
    return true;
  });
  assert.equal(patchCheckpointMetadata(path.join(run, DISTILL_FILES.last)).step, "2");
  assert.equal(fs.existsSync(path.join(run, DISTILL_FILES.final)), false);
});

test("a network that learned nothing sits at chance (FPR95 about 0.95); a few training steps move it well below", async () => {
  // Chance: descriptors unrelated to the patches rank positives and negatives alike.
  const n = heldOut.labels.length;
  const shuffled = Array.from({ length: n }, (_, i) => ((i * 7919) % 1009) / 1009);
  const chance = fprAt95Recall(shuffled, heldOut.labels);
  assert.ok(chance > 0.85, `chance FPR95 ${chance}`);
  // A network whose descriptors do not depend on the patch (all weights 0: constant output) is at 1.
  const flat = new DesDisStudent({ width: 4 });
  for (const p of flat.params.values()) p.assign(p.mul(0));
  const flatScore = scoreHeldOut(heldOut, describePatches(flat, heldOut.patches));
  flat.dispose();
  assert.ok(flatScore.fpr95 >= 0.95, `constant network FPR95 ${flatScore.fpr95}`);

  const config = tiny({ steps: 8, batch: 32, validateEvery: 8, seed: 2 });
  const init = new DesDisStudent({ width: 4, seed: 2 });
  const initial = scoreHeldOut(heldOut, describePatches(init, heldOut.patches));
  init.dispose();
  const run = path.join(dir, "learn");
  const r = await distill(config, run, data(config), { quiet: true });
  const trained = r.lastValidation!;
  console.log(`held-out FPR95: initial ${initial.fpr95}, after 8 steps ${trained.fpr95}`);
  assert.ok(trained.fpr95 < 0.5, `FPR95 after 8 steps: ${trained.fpr95}`);
  assert.ok(trained.fpr95 < initial.fpr95, `FPR95 ${initial.fpr95} at initialisation, ${trained.fpr95} after 8 steps`);
  assert.ok(trained.matching > 0.5 && trained.retrieval > 0.3, `mAP matching ${trained.matching}, retrieval ${trained.retrieval}`);
  // best.safetensors is the network of the best (lowest) FPR95.
  assert.equal(Number(patchCheckpointMetadata(path.join(run, DISTILL_FILES.best)).best_fpr95), r.best!.fpr95);
});
