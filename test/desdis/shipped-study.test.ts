// The shipped DesDis study (data/desdis) is what its weights give: every run that keeps its weights
// scores on the held-out patch set what its last metrics.jsonl record says, and the seed-0 HardNet
// teacher evaluated again with KAZE keypoints gives its kept MMA summary (what notebook 08 shows).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { readDistillConfig } from "../../lib/desdis/distill";
import { loadPatchNetwork } from "../../lib/desdis/load-network";
import { evaluateHeldOut } from "../../lib/desdis/patch-eval";
import { prepareHeldOut } from "../../lib/desdis/prepare";
import { SHIPPED_STUDY_ROOT, STUDY_SCALES } from "../../lib/desdis/study";
import { finalPatchScores, memoizedDetector, patchSummary } from "../../lib/desdis/study-results";
import { createPatchDetector, patchExtractor } from "../../lib/desdis/patch-extractor";
import { initEngine } from "../../lib/engine/index";
import { evaluateDataset } from "../../lib/eval/evaluate";
import { projectPath } from "../../lib/util/project";

const withWeights = fs.existsSync(SHIPPED_STUDY_ROOT)
  ? fs.readdirSync(SHIPPED_STUDY_ROOT).map((d) => path.join(SHIPPED_STUDY_ROOT, d)).filter((d) => fs.existsSync(path.join(d, "final.safetensors")))
  : [];

test("the shipped DesDis study keeps the seed-0 weights of the HardNet teacher and of the three light students", () => {
  const names = withWeights.map((d) => path.basename(d));
  assert.ok(names.some((n) => n.startsWith("teacher-hardnet-l2net-b128-n100-seed0-")), "the seed-0 HardNet teacher");
  for (const loss of ["hardnet", "sosnet", "hynet"]) assert.ok(names.some((n) => n.startsWith(`student-light-desdis32-${loss}-abs1-`) && n.includes("-seed0-")), `the ${loss} light student`);
  assert.ok(names.every((n) => n.includes("-seed0-")), "weights of seed 0 only");
});

test("every shipped run with weights scores on the held-out set what its metrics record", async () => {
  await initEngine({ quiet: true });
  const heldOut = (await prepareHeldOut(readDistillConfig(withWeights[0]).heldOut, projectPath("data", "cache"), { quiet: true })).set;
  for (const dir of withWeights) {
    const config = readDistillConfig(dir);
    const kept = finalPatchScores({ dir, config });
    const { net } = loadPatchNetwork(path.join(dir, "final.safetensors"));
    try {
      const now = evaluateHeldOut(net, heldOut);
      for (const k of ["fpr95", "verification", "matching", "retrieval"] as const) {
        assert.ok(Math.abs(now[k] - kept[k]) <= 1e-3, `${path.basename(dir)} ${k}: ${now[k]} now, ${kept[k]} kept`);
      }
    } finally {
      net.dispose();
    }
  }
});

test("the seed-0 HardNet teacher gives its kept MMA on hpatches-sample again", async () => {
  await initEngine({ quiet: true });
  const dir = withWeights.find((d) => path.basename(d).startsWith("teacher-hardnet-l2net-b128-n100-seed0-"))!;
  const dataset = projectPath("data", "hpatches-sample");
  const kept = patchSummary(dir, dataset);
  const { net } = loadPatchNetwork(path.join(dir, "final.safetensors"));
  const detector = memoizedDetector(await createPatchDetector("kaze"));
  const extractor = patchExtractor(net, detector, "teacher", STUDY_SCALES.default.maxKeypoints);
  try {
    const now = (await evaluateDataset(dataset, extractor, { quiet: true })).summary;
    for (let i = 0; i < kept.thresholds.length; i++) assert.ok(Math.abs(now.mma[i]! - kept.mma[i]!) <= 1e-3, `MMA@${kept.thresholds[i]}: ${now.mma[i]} now, ${kept.mma[i]} kept`);
  } finally {
    extractor.dispose?.();
  }
});
