// Patch-descriptor metrics (method.md B.3): FPR at 95% recall (UBC PhotoTour / Brown) and average
// precision of ranked lists (HPatches verification, matching and retrieval). Plain numbers in, plain
// numbers out; labels are 1 (or true) for a match, 0 (or false) otherwise.

export type Labels = ArrayLike<number | boolean>;

function isPositive(label: number | boolean): boolean {
  if (label === true || label === 1) return true;
  if (label === false || label === 0) return false;
  throw new Error(`patch metrics: labels must be 0/1 or booleans, got ${String(label)}`);
}

function checkLengths(who: string, values: ArrayLike<number>, labels: Labels): void {
  if (values.length !== labels.length) throw new Error(`${who}: ${values.length} values for ${labels.length} labels`);
}

/**
 * False-positive rate at the distance threshold where `recall` of the positives is reached
 * (HardNet code/EvalMetrics.py ErrorRateAt95Recall; HyNet utils.py cal_fpr95):
 * sort the pairs by distance, ascending (stable); the threshold is the distance of the positive at
 * which the cumulative number of positives first reaches recall * (number of positives); the FPR is
 * the number of negatives with a distance <= that threshold over all negatives. Without ties at the
 * threshold this is HardNet's count (negatives sorted before that positive); a negative tied with it
 * counts as a false positive, whatever the sort order (as HyNet's `le`).
 */
export function fprAtRecall(distances: ArrayLike<number>, labels: Labels, recall = 0.95): number {
  checkLengths("fprAtRecall", distances, labels);
  if (!(recall > 0 && recall <= 1)) throw new Error(`fprAtRecall: recall must be in (0, 1], got ${recall}`);
  const n = distances.length;
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(distances[i])) throw new Error(`fprAtRecall: distance ${i} is NaN`);
  }
  const pos = order.filter((i) => isPositive(labels[i]));
  const numPos = pos.length;
  const numNeg = n - numPos;
  if (numPos === 0 || numNeg === 0) throw new Error(`fprAtRecall: needs positives and negatives, got ${numPos} and ${numNeg}`);
  order.sort((a, b) => distances[a] - distances[b]);
  const needed = recall * numPos; // compared as numpy does: cumsum >= 0.95 * P in float64
  let cum = 0;
  let threshold = NaN;
  for (const i of order) {
    if (isPositive(labels[i])) cum++;
    if (cum >= needed) {
      threshold = distances[i];
      break;
    }
  }
  let fp = 0;
  for (let i = 0; i < n; i++) if (!isPositive(labels[i]) && distances[i] <= threshold) fp++;
  return fp / numNeg;
}

/** FPR at 95% recall. */
export function fprAt95Recall(distances: ArrayLike<number>, labels: Labels): number {
  return fprAtRecall(distances, labels, 0.95);
}

/** Indices sorted by score, descending; ties keep their input order (as numpy's mergesort). */
function rankByScore(scores: ArrayLike<number>): number[] {
  const order = Array.from({ length: scores.length }, (_, i) => i);
  for (let i = 0; i < scores.length; i++) if (Number.isNaN(scores[i])) throw new Error(`average precision: score ${i} is NaN`);
  return order.sort((a, b) => (scores[b] === scores[a] ? 0 : scores[b] > scores[a] ? 1 : -1));
}

export interface APOptions {
  /**
   * Positives in the ground truth, when the list does not hold them all (e.g. HPatches matching: one
   * nearest neighbour per query, so a query whose match was not retrieved still counts in recall).
   * Must be >= the positives in the list. Default: the positives in the list.
   */
  numPositives?: number;
}

function totalPositives(who: string, labels: Labels, opts: APOptions): { inList: number; total: number } {
  let inList = 0;
  for (let i = 0; i < labels.length; i++) if (isPositive(labels[i])) inList++;
  const total = opts.numPositives ?? inList;
  if (!(total >= inList)) throw new Error(`${who}: numPositives ${total} is smaller than the ${inList} positives in the list`);
  return { inList, total };
}

/**
 * Average precision of a ranked list (non-interpolated): rank by score, descending (ties in input
 * order; -Infinity is never retrieved), then AP = (1/P) sum over the positives at ranks k of
 * precision@k. P is the number of positives (numPositives when given). 0 when P is 0.
 */
export function averagePrecision(scores: ArrayLike<number>, labels: Labels, opts: APOptions = {}): number {
  checkLengths("averagePrecision", scores, labels);
  const { total } = totalPositives("averagePrecision", labels, opts);
  if (total === 0) return 0;
  let tp = 0;
  let sum = 0;
  let k = 0;
  for (const i of rankByScore(scores)) {
    if (scores[i] === -Infinity) break;
    k++;
    if (isPositive(labels[i])) {
      tp++;
      sum += tp / k;
    }
  }
  return sum / total;
}

export interface PrecisionRecall {
  precision: number[];
  recall: number[];
  /** Trapezoidal area under precision(recall), from the point (recall 0, precision 1). */
  ap: number;
}

/**
 * The HPatches benchmark's precision-recall and AP (hpatches-benchmark python/utils/metrics.py tpfp
 * and pr): rank by score, descending (stable), -Infinity never retrieved, unretrieved positives
 * (numPositives) count in the recall denominator; precision = max(tp, 1e-10) / max(tp + fp, 1e-10),
 * so the curve starts at (0, 1); AP = trapezoidal integral of precision over recall (np.trapz).
 */
export function hpatchesPrecisionRecall(scores: ArrayLike<number>, labels: Labels, opts: APOptions = {}): PrecisionRecall {
  checkLengths("hpatchesPrecisionRecall", scores, labels);
  const { total } = totalPositives("hpatchesPrecisionRecall", labels, opts);
  const small = 1e-10;
  const precision = [Math.max(0, small) / Math.max(0, small)];
  const recall = [0];
  let tp = 0;
  let fp = 0;
  for (const i of rankByScore(scores)) {
    if (scores[i] === -Infinity) break;
    if (isPositive(labels[i])) tp++;
    else fp++;
    precision.push(Math.max(tp, small) / Math.max(tp + fp, small));
    recall.push(tp / Math.max(total, small));
  }
  let ap = 0;
  for (let k = 1; k < recall.length; k++) ap += ((recall[k] - recall[k - 1]) * (precision[k] + precision[k - 1])) / 2;
  return { precision, recall, ap };
}

/** One ranked list for meanAveragePrecision. */
export interface RankedList extends APOptions {
  scores: ArrayLike<number>;
  labels: Labels;
}

/** Mean of per-list APs (by default averagePrecision; pass hpatches AP for the benchmark's numbers). */
export function meanAveragePrecision(
  lists: RankedList[],
  ap: (scores: ArrayLike<number>, labels: Labels, opts: APOptions) => number = averagePrecision,
): number {
  if (lists.length === 0) throw new Error("meanAveragePrecision: no lists");
  let sum = 0;
  for (const l of lists) sum += ap(l.scores, l.labels, { numPositives: l.numPositives });
  return sum / lists.length;
}

/** hpatchesPrecisionRecall's AP alone, in the shape meanAveragePrecision takes. */
export function hpatchesAveragePrecision(scores: ArrayLike<number>, labels: Labels, opts: APOptions = {}): number {
  return hpatchesPrecisionRecall(scores, labels, opts).ap;
}
