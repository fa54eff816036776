// The shipped results are what they claim to be: every shipped run that keeps its weights, and the
// classical baselines, evaluated again now on hpatches-sample, give the kept summaries the notebooks
// and the README read (within 1e-3 on every MMA value). A run's kept JSON cannot drift from its weights.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { initEngine } from "../../lib/engine";
import { evaluateDataset } from "../../lib/eval/evaluate";
import type { EvalSummary } from "../../lib/eval/metrics";
import { createExtractor } from "../../lib/eval/methods";
import { BASELINE_DIRS, baselineSummaryFile, readSummary, runSummaryFile } from "../../lib/training/results";
import { listRuns } from "../../lib/training/runs";
import { projectPath } from "../../lib/util/project";

const DATASET = projectPath("data", "hpatches-sample");
const SHIPPED = projectPath("data", "runs");

before(async () => {
  await initEngine({ quiet: true });
});

async function evaluateAgain(method: string): Promise<EvalSummary> {
  const extractor = await createExtractor(method);
  try {
    return (await evaluateDataset(DATASET, extractor, { quiet: true })).summary;
  } finally {
    extractor.dispose?.();
  }
}

function assertSameCurves(fresh: EvalSummary, kept: EvalSummary, what: string): void {
  assert.deepEqual(fresh.thresholds, kept.thresholds, `${what}: thresholds`);
  assert.equal(fresh.pairs, kept.pairs, `${what}: pairs`);
  for (const key of ["mma", "mma_i", "mma_v"] as const) {
    fresh[key].forEach((v, i) => {
      const k = kept[key][i];
      if (v === null || k === null) assert.equal(v, k, `${what} ${key}[${i}]`);
      else assert.ok(Math.abs(v - k) <= 1e-3, `${what} ${key}@${fresh.thresholds[i]}: kept ${k}, evaluated now ${v}`);
    });
  }
}

test("every shipped run with weights re-evaluates to its kept summary on hpatches-sample", async () => {
  const runs = listRuns({ roots: [SHIPPED] }).filter((r) => r.weights !== undefined);
  assert.ok(runs.length >= 2, `expected shipped runs with weights in data/runs, found ${runs.length}`);
  for (const run of runs) {
    const kept = readSummary(runSummaryFile(run.dir, DATASET));
    assert.ok(kept, `${run.name}: no kept summary for hpatches-sample`);
    assertSameCurves(await evaluateAgain(run.weights!), kept, run.name);
  }
});

test("the shipped ORB and KAZE summaries re-evaluate to themselves", async () => {
  for (const method of ["orb", "kaze"]) {
    const kept = readSummary(baselineSummaryFile(BASELINE_DIRS[1], method, DATASET));
    assert.ok(kept, `no shipped ${method} summary for hpatches-sample in ${path.relative(projectPath(), BASELINE_DIRS[1])}`);
    assertSameCurves(await evaluateAgain(method), kept, method);
  }
});
