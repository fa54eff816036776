// The ladder comparisons of the workbook, against differences worked by hand (MMA@3, overall):
//   human     baseline 0.60, 0.64 -> mean 62 %, sd 2.828 pp    full 0.61, 0.65 -> 63 %, sd 2.828 pp
//   classical baseline 0.50, 0.52 -> mean 51 %, sd 1.414 pp    full 0.58, 0.60 -> 59 %, sd 1.414 pp
//   teacher effect: baseline 51 − 62 = −11 pp, full 59 − 63 = −4 pp, both beyond the larger sd 2.828
//   ladder gain:    human 63 − 62 = +1 pp (within 2.828), classical 59 − 51 = +8 pp (beyond 1.414)
import { test } from "node:test";
import assert from "node:assert/strict";
import { compareTeachers, ladderSteps, RungSummaries } from "../../lib/plots/ladder";
import type { EvalSummary } from "../../lib/eval/metrics";

const T = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

/** MMA `v` at every threshold overall, v − 0.05 on viewpoint pairs, no illumination pairs (as hpatches-sample). */
function summary(v: number): EvalSummary {
  return {
    method: "m",
    dataset: "data/hpatches-sample",
    sequences: 2,
    images: 12,
    pairs: 10,
    pairs_i: 0,
    pairs_v: 10,
    thresholds: T,
    mma: T.map(() => v),
    mma_i: T.map(() => null),
    mma_v: T.map(() => v - 0.05),
    features: 1000,
    matches: 300,
    matches_i: 0,
    matches_v: 300,
    zero_match_pairs: 0,
    homography: { thresholds: [1, 3, 5], accuracy: [0, 0, 0], accuracy_i: [0, 0, 0], accuracy_v: [0, 0, 0], mean_corner_error: 1, failed: 0 },
  };
}

const rung = (label: string, values: number[]): RungSummaries => ({ label, summaries: values.map(summary) });
const human = [rung("baseline / human", [0.6, 0.64]), rung("full / human", [0.61, 0.65])];
const classical = [rung("baseline / classical", [0.5, 0.52]), rung("full / classical", [0.58, 0.6])];

test("compareTeachers: each row against the reference teacher's, each ladder end to end, against the seed spread", () => {
  const { teacherEffect, ladderGain } = compareTeachers([human, classical]);
  // Two splits (overall, viewpoint) per comparison; no illumination pairs.
  assert.equal(teacherEffect.length, 4);
  assert.deepEqual(teacherEffect.map((c) => c.split), ["overall", "viewpoint", "overall", "viewpoint"]);
  const overall = teacherEffect.filter((c) => c.split === "overall");
  assert.ok(Math.abs(overall[0].difference - -11) < 1e-9);
  assert.ok(Math.abs(overall[1].difference - -4) < 1e-9);
  for (const c of overall) {
    assert.ok(Math.abs(c.spread! - 2.8284271) < 1e-6);
    assert.equal(c.exceedsSpread, true);
  }
  assert.match(overall[0].text, /^baseline \/ classical − baseline \/ human, MMA@3 overall: −11\.00 pp; larger seed sd 2\.83 pp: exceeds the seed spread$/);
  const gains = ladderGain.filter((c) => c.split === "overall");
  assert.deepEqual(gains.map((c) => Math.round(c.difference * 1e6) / 1e6), [1, 8]);
  assert.deepEqual(gains.map((c) => c.exceedsSpread), [false, true]);
  assert.ok(Math.abs(gains[1].spread! - 1.4142136) < 1e-6);
});

test("compareTeachers: ladders of different lengths are an error naming both", () => {
  assert.throws(() => compareTeachers([human, classical.slice(0, 1)]), /compareTeachers: 1 rows against 2 for the reference teacher/);
});

test("ladderSteps: each rung minus the one before it", () => {
  const steps = ladderSteps([human[0], human[1], classical[1]]).filter((c) => c.split === "overall");
  // full/human − baseline/human = +1; full/classical − full/human = 59 − 63 = −4
  assert.deepEqual(steps.map((c) => Math.round(c.difference * 1e6) / 1e6), [1, -4]);
});
