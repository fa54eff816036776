import { test } from "node:test";
import assert from "node:assert/strict";
import { IDENTITY } from "../../lib/geometry/homography";
import { mutualNearestNeighbours } from "../../lib/eval/matching";
import { matchErrors, pairAccuracy, PairRecord, summarize } from "../../lib/eval/metrics";

const kp = Float32Array.from([10, 10, 50, 20, 30, 70, 80, 90]);

/** One-hot descriptors: feature i of A matches feature i of B exactly and nothing else. */
function oneHot(n: number): Float32Array {
  const d = new Float32Array(n * n);
  for (let i = 0; i < n; i++) d[i * n + i] = 1;
  return d;
}

const pair = (type: "i" | "v", accuracy: number[], matches: number, cornerError = 0): PairRecord => ({
  sequence: `${type}_x`,
  type,
  k: 2,
  matches,
  accuracy,
  cornerError,
});

test("identity H and exact keypoints give accuracy 1.0 at every threshold", () => {
  const m = mutualNearestNeighbours(oneHot(4), oneHot(4), 4);
  assert.deepEqual(Array.from(m.a), [0, 1, 2, 3]);
  const err = matchErrors(kp, kp, m, IDENTITY);
  assert.deepEqual(Array.from(err), [0, 0, 0, 0]);
  assert.deepEqual(pairAccuracy(err), [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
});

test("a known offset per match gives exact fractions", () => {
  // B's keypoints are A's translated by (5, -3), plus per-match errors of 0.5, 1.5, 2.5 and 3.5 px
  // (3-4-5 triangles scaled: (0.3,0.4), (0.9,1.2), (1.5,2.0), (2.1,2.8)).
  const H = [1, 0, 5, 0, 1, -3, 0, 0, 1];
  const noise = [0.3, 0.4, 0.9, 1.2, 1.5, 2.0, 2.1, 2.8];
  const kpB = kp.map((v, i) => v + (i % 2 === 0 ? 5 : -3) + noise[i]);
  const m = mutualNearestNeighbours(oneHot(4), oneHot(4), 4);
  const err = matchErrors(kp, kpB, m, H);
  [0.5, 1.5, 2.5, 3.5].forEach((e, i) => assert.ok(Math.abs(err[i] - e) < 1e-5, `match ${i}: ${err[i]}`));
  assert.deepEqual(pairAccuracy(err), [0.25, 0.5, 0.75, 1, 1, 1, 1, 1, 1, 1]);
});

test("a pair with no matches contributes 0, not nothing", () => {
  assert.deepEqual(pairAccuracy([]), new Array(10).fill(0));
  const none = mutualNearestNeighbours(new Float32Array(0), oneHot(3), 3);
  assert.equal(none.a.length, 0);
  const s = summarize("m", "d", 2, [4, 0, 4, 4], [pair("i", new Array(10).fill(1), 4), pair("v", pairAccuracy([]), 0, Infinity)]);
  assert.deepEqual(s.mma, new Array(10).fill(0.5));
  assert.deepEqual(s.mma_i, new Array(10).fill(1));
  assert.deepEqual(s.mma_v, new Array(10).fill(0));
  assert.equal(s.zero_match_pairs, 1);
  assert.equal(s.homography.failed, 1);
});

test("aggregation: MMA is the mean over pairs, #features over images, #matches over pairs", () => {
  const recs = [
    pair("i", [0.5, 1, 1, 1, 1, 1, 1, 1, 1, 1], 10, 0.5),
    pair("i", [0, 0.5, 1, 1, 1, 1, 1, 1, 1, 1], 20, 2),
    pair("v", [0, 0, 0.25, 0.5, 1, 1, 1, 1, 1, 1], 30, 4),
  ];
  const s = summarize("m", "d", 2, [100, 200, 300, 400, 500], recs);
  assert.equal(s.pairs, 3);
  assert.equal(s.pairs_i, 2);
  assert.equal(s.pairs_v, 1);
  assert.deepEqual(s.mma.slice(0, 4), [0.5 / 3, 1.5 / 3, 2.25 / 3, 2.5 / 3]);
  assert.deepEqual(s.mma_i.slice(0, 3), [0.25, 0.75, 1]);
  assert.deepEqual(s.mma_v.slice(0, 3), [0, 0, 0.25]);
  assert.equal(s.features, 300);
  assert.equal(s.matches, 20);
  assert.equal(s.matches_i, 15);
  assert.equal(s.matches_v, 30);
  // corner errors 0.5, 2, 4 -> correct at 1 px: 1/3, at 3 px: 2/3, at 5 px: 3/3
  assert.deepEqual(s.homography.accuracy, [1 / 3, 2 / 3, 1]);
  assert.equal(s.homography.mean_corner_error, 6.5 / 3);
});

test("a split without pairs reports null rather than a number", () => {
  const s = summarize("m", "d", 1, [1, 1], [pair("v", new Array(10).fill(1), 1)]);
  assert.deepEqual(s.mma_i, new Array(10).fill(null));
  assert.equal(s.matches_i, null);
});
