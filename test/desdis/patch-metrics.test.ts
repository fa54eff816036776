import { test } from "node:test";
import assert from "node:assert/strict";
import {
  averagePrecision,
  fprAt95Recall,
  fprAtRecall,
  hpatchesAveragePrecision,
  hpatchesPrecisionRecall,
  meanAveragePrecision,
} from "../../lib/eval/patch-metrics";

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-6, `${what}: ${a} vs ${b}`);

// 20 positives at distances 0.1, 0.2, ..., 2.0 and 5 negatives at 0.55, 1.25, 1.95, 1.96, 5.0 (shuffled).
// 95% of 20 is 19: the threshold is the 19th positive, 1.9; negatives at or below it: 0.55 and 1.25 -> 2/5.
test("FPR at 95% recall on a hand-made list", () => {
  const pos = Array.from({ length: 20 }, (_, i) => Math.round((i + 1) * 10) / 100);
  const neg = [1.96, 0.55, 5.0, 1.25, 1.95];
  const distances = [...neg.slice(0, 2), ...pos.slice(0, 10), ...neg.slice(2), ...pos.slice(10)];
  const labels = distances.map((d) => (neg.includes(d) && !pos.includes(d) ? 0 : 1));
  close(fprAt95Recall(distances, labels), 2 / 5, "FPR95");
  // 50% recall: the 10th positive, 1.0; only 0.55 is below -> 1/5. 100%: 2.0 -> 0.55, 1.25, 1.95, 1.96 -> 4/5.
  close(fprAtRecall(distances, labels, 0.5), 1 / 5, "FPR50");
  close(fprAtRecall(distances, labels, 1), 4 / 5, "FPR100");
  // Booleans work as labels.
  close(fprAt95Recall(distances, labels.map((l) => l === 1)), 2 / 5, "boolean labels");
  // A negative tied with the threshold counts as a false positive, whatever the order: 3/6.
  close(fprAt95Recall([...distances, 1.9], [...labels, 0]), 3 / 6, "tie");
  close(fprAt95Recall([1.9, ...distances], [0, ...labels]), 3 / 6, "tie, other order");
  // Three positives: 0.95 * 3 = 2.85, so all three are needed; the threshold is the largest positive.
  close(fprAt95Recall([0.1, 0.2, 0.3, 0.25, 0.35], [1, 1, 1, 0, 0]), 1 / 2, "three positives");
});

test("FPR at 95% recall: bad input is refused", () => {
  assert.throws(() => fprAt95Recall([0.1, 0.2], [1, 1]), /needs positives and negatives, got 2 and 0/);
  assert.throws(() => fprAt95Recall([0.1, 0.2], [1]), /2 values for 1 labels/);
  assert.throws(() => fprAt95Recall([0.1, NaN], [1, 0]), /distance 1 is NaN/);
  assert.throws(() => fprAt95Recall([0.1, 0.2], [1, 2]), /labels must be 0\/1/);
});

// Scores 0.9 ... 0.5 with labels 1 0 1 0 1: precision at the positives 1/1, 2/3, 3/5.
//   AP = (1 + 0.666667 + 0.6) / 3 = 0.755556; with 4 positives in the ground truth (one never retrieved):
//   2.266667 / 4 = 0.566667.
// HPatches' trapezoidal AP, points (recall, precision) from (0, 1): (1/3, 1), (1/3, 1/2), (2/3, 2/3),
//   (2/3, 1/2), (1, 3/5): 1/3 * 1 + 1/3 * (1/2 + 2/3) / 2 + 1/3 * (1/2 + 3/5) / 2 = 0.711111;
//   recall over 4: 1/4 + 1/4 * (1/2 + 2/3) / 2 + 1/4 * (1/2 + 3/5) / 2 = 0.533333.
test("average precision of a ranked list, plain and as the HPatches benchmark computes it", () => {
  const scores = [0.6, 0.9, 0.5, 0.8, 0.7]; // shuffled: ranks 4, 1, 5, 2, 3
  const labels = [0, 1, 1, 0, 1];
  close(averagePrecision(scores, labels), 0.755556, "AP");
  close(averagePrecision(scores, labels, { numPositives: 4 }), 0.566667, "AP, 4 positives");
  close(hpatchesAveragePrecision(scores, labels), 0.711111, "HPatches AP");
  close(hpatchesAveragePrecision(scores, labels, { numPositives: 4 }), 0.533333, "HPatches AP, 4 positives");
  const pr = hpatchesPrecisionRecall(scores, labels);
  assert.deepEqual(pr.recall.map((r) => Math.round(r * 1e6) / 1e6), [0, 0.333333, 0.333333, 0.666667, 0.666667, 1]);
  // Ties keep the input order (stable, as numpy's mergesort); -Infinity is never retrieved.
  close(averagePrecision([0.5, 0.5], [0, 1]), 0.5, "tie, negative first");
  close(averagePrecision([0.5, 0.5], [1, 0]), 1, "tie, positive first");
  close(averagePrecision([1, -Infinity], [0, 1]), 0, "-Infinity never retrieved");
  close(averagePrecision([1, 2], [0, 0]), 0, "no positives");
  close(averagePrecision([3, 2, 1], [1, 1, 1]), 1, "all positives first");
  assert.throws(() => averagePrecision(scores, labels, { numPositives: 2 }), /numPositives 2 is smaller than the 3 positives/);
  // mAP: the mean of the lists' APs.
  close(meanAveragePrecision([{ scores, labels }, { scores: [1, 2], labels: [1, 0] }]), (0.755556 + 0.5) / 2, "mAP");
  close(meanAveragePrecision([{ scores, labels, numPositives: 4 }], hpatchesAveragePrecision), 0.533333, "mAP with the HPatches AP");
  assert.throws(() => meanAveragePrecision([]), /no lists/);
});
