// Shared pieces of the patch-descriptor losses (HardNet, SOSNet, HyNet, the DesDis teacher-student
// regulariser): distance matrices and in-batch hardest-negative mining. A batch is N matching pairs
// (anchors[i], positives[i]); every other descriptor in the batch is a candidate negative.
// Mining runs on the backend (argMin / topk, no read-back) inside `constant`, a custom gradient whose
// forward pass the tape does not record; it yields 0/1 selection masks, and the loss's gradient flows
// through the distances they select, as in the PyTorch code (indices carry no gradient there either).
import * as tf from "@tensorflow/tfjs";

/** HardNet's threshold: a "negative" closer than this is taken to be the same patch and never mined. */
export const FALSE_NEGATIVE_THRESHOLD = 0.008;

/**
 * HardNet's distance matrix (DagnyT/hardnet code/Losses.py L5-13 and L95):
 * D[i,j] = sqrt(|a_i|^2 + |p_j|^2 - 2 a_i.p_j + 1e-6) + 1e-8, for any (not only unit) vectors.
 * The radicand is clamped at 0 first (rounding can make it slightly negative for equal vectors).
 */
export function hardnetDistanceMatrix(a: tf.Tensor2D, p: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const a2 = tf.sum(tf.square(a), 1, true); // [N,1]
    const p2 = tf.reshape(tf.sum(tf.square(p), 1), [1, -1]); // [1,M]
    const sq = tf.relu(tf.sub(tf.add(a2, p2), tf.mul(2, tf.matMul(a, p, false, true))));
    return tf.add(tf.sqrt(tf.add(sq, 1e-6)), 1e-8) as tf.Tensor2D;
  });
}

/**
 * The SOSNet/HyNet distance matrix for unit vectors (yuruntian/HyNet utils.py L12-17):
 * D[i,j] = sqrt(|2 (1 - x_i.y_j)| + 1e-6).
 */
export function unitDistanceMatrix(x: tf.Tensor2D, y: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.sqrt(tf.add(tf.abs(tf.mul(2, tf.sub(1, tf.matMul(x, y, false, true)))), 1e-6)) as tf.Tensor2D);
}

/**
 * `fn(x)` as a constant: computed outside the gradient tape (inside a custom gradient's forward pass,
 * where tfjs records nothing) and with a zero gradient. Mining uses it for index work (comparisons,
 * argMin, topk have no gradients in tfjs); `fn` must return a float32 tensor (a mask or offsets).
 */
export function constant(fn: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor): tf.Tensor {
  const f = tf.customGrad((...args) => {
    const [input] = args as [tf.Tensor];
    return { value: fn(input), gradFunc: (dy: tf.Tensor) => tf.zerosLike(input) };
  });
  return f(x);
}

/**
 * `d` with the entries that must not be mined pushed away by `offset` (constants: the gradient is d's):
 * the diagonal (the positive pairs, or a descriptor with itself), then every entry below the
 * false-negative threshold (`inclusive`: <= as HyNet's sort_distance, else < as HardNet's `ge(0.008)`
 * mask). Same order as the reference code: the threshold test sees the diagonal already offset.
 */
export function miningMatrix(d: tf.Tensor2D, opts: { threshold: number; offset: number; inclusive: boolean }): tf.Tensor2D {
  const offsets = constant((x) => {
    const diag = tf.mul(tf.eye(x.shape[0], x.shape[1]), opts.offset);
    const m = tf.add(x, diag);
    const close = opts.inclusive ? tf.lessEqual(m, opts.threshold) : tf.less(m, opts.threshold);
    return tf.add(diag, tf.mul(tf.cast(close, "float32"), opts.offset));
  }, d);
  return tf.add(d, offsets) as tf.Tensor2D;
}

/**
 * HardNet's mining matrix (Losses.py L98-103): D + 10 I, then +10 where that is below the threshold
 * (strictly, as `ge(0.008)`). Differentiable in `dist` (the offsets are constants).
 */
export function hardnetMiningMatrix(dist: tf.Tensor2D, threshold: number): tf.Tensor2D {
  return miningMatrix(dist, { threshold, offset: 10, inclusive: false });
}

/** [N,N] float 0/1 with a single 1 per row, at the row's minimum (the first on ties). */
function rowArgMinMask(m: tf.Tensor): tf.Tensor2D {
  return tf.oneHot(tf.argMin(m, 1), m.shape[1]!) as tf.Tensor2D;
}

/** [N,N] float 0/1 with a single 1 per column, at the column's minimum (the first on ties). */
function colArgMinMask(m: tf.Tensor): tf.Tensor2D {
  return tf.transpose(tf.oneHot(tf.argMin(m, 0), m.shape[0]!)) as tf.Tensor2D;
}

/**
 * A choice of one entry of an [N,N] matrix per pair i: either in row i, (i, j), marked in `rows[i,j]`,
 * or in column i, (k, i), marked in `cols[k,i]`. Both are constant 0/1 masks; exactly one of them has
 * a 1 for each pair.
 */
export interface PairChoice {
  rows: tf.Tensor2D;
  cols: tf.Tensor2D;
}

/** The chosen entries of `m` [N] (differentiable in m): sum_j m[i,j] rows[i,j] + sum_k m[k,i] cols[k,i]. */
export function pickChoice(m: tf.Tensor2D, choice: PairChoice): tf.Tensor1D {
  return tf.add(tf.sum(tf.mul(m, choice.rows), 1), tf.sum(tf.mul(m, choice.cols), 0)) as tf.Tensor1D;
}

/** Entries of m along the diagonal [N]. */
export function diagonal(m: tf.Tensor2D): tf.Tensor1D {
  return tf.sum(tf.mul(m, tf.eye(m.shape[0], m.shape[1])), 1) as tf.Tensor1D;
}

/**
 * HardNet's hardest in-batch negatives (Losses.py L104-108, batch_reduce 'min') in a mining matrix `m`
 * (see hardnetMiningMatrix): for pair i, the closest p_j to a_i (row i) and, with anchor swap, the
 * closest a_k to p_i (column i); the closer of the two (the row's on ties).
 */
export function hardestNegativePairs(m: tf.Tensor2D, anchorSwap: boolean): PairChoice {
  const both = constant((x) => {
    const rows = rowArgMinMask(x);
    if (!anchorSwap) return tf.stack([rows, tf.zerosLike(rows)]);
    const cols = colArgMinMask(x);
    const rowVal = tf.sum(tf.mul(x, rows), 1);
    const colVal = tf.sum(tf.mul(x, cols), 0);
    const useCol = tf.cast(tf.less(colVal, rowVal), "float32"); // [N], per pair i
    return tf.stack([tf.mul(rows, tf.reshape(tf.sub(1, useCol), [-1, 1])), tf.mul(cols, tf.reshape(useCol, [1, -1]))]);
  }, m);
  const [rows, cols] = tf.unstack(both) as tf.Tensor2D[];
  return { rows, cols };
}

/** Row-major flat indices (i*N+j) of the chosen entries, read back (for inspection and tests). */
export function choiceIndices(choice: PairChoice): number[] {
  const n = choice.rows.shape[0];
  const r = choice.rows.arraySync();
  const c = choice.cols.arraySync();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const j = r[i].indexOf(1);
    if (j >= 0) out.push(i * n + j);
    else out.push(c.findIndex((row) => row[i] === 1) * n + i);
  }
  return out;
}

/** Identity whose gradient is zero: the frozen teacher's descriptors must not receive gradients. */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  return constant((v) => tf.clone(v), x) as T;
}

/** Check two [N,D] descriptor batches of equal shape, N >= 2. */
export function checkPairs(who: string, anchors: tf.Tensor, positives: tf.Tensor): void {
  if (anchors.rank !== 2 || positives.rank !== 2 || anchors.shape[0] !== positives.shape[0] || anchors.shape[1] !== positives.shape[1]) {
    throw new Error(`${who}: anchors and positives must both be [N,D], got [${anchors.shape}] and [${positives.shape}]`);
  }
  if (anchors.shape[0] < 2) throw new Error(`${who}: in-batch mining needs at least 2 pairs, got ${anchors.shape[0]}`);
}

export type Reduction = "mean" | "sum";

export function reduce(values: tf.Tensor1D, reduction: Reduction): tf.Scalar {
  return (reduction === "sum" ? tf.sum(values) : tf.mean(values)) as tf.Scalar;
}

/** The three distance matrices of SOSNet/HyNet training on a batch (yuruntian/HyNet train.py). */
export interface TianMatrices {
  L: tf.Tensor2D; // anchors vs anchors
  R: tf.Tensor2D; // positives vs positives
  LR: tf.Tensor2D; // anchors vs positives (diagonal: the positive pairs)
  /** The same with the diagonal and the false negatives (<= threshold) offset by 2 (sort_distance). */
  Lm: tf.Tensor2D;
  Rm: tf.Tensor2D;
  LRm: tf.Tensor2D;
}

/** HyNet train.py compute() and sort_distance() (L122-124, L150-167): unit-vector distances and their masked copies. */
export function tianMatrices(anchors: tf.Tensor2D, positives: tf.Tensor2D, threshold: number): TianMatrices {
  const L = unitDistanceMatrix(anchors, anchors);
  const R = unitDistanceMatrix(positives, positives);
  const LR = unitDistanceMatrix(anchors, positives);
  const mask = (d: tf.Tensor2D) => miningMatrix(d, { threshold, offset: 2, inclusive: true });
  return { L, R, LR, Lm: mask(L), Rm: mask(R), LRm: mask(LR) };
}

/**
 * The hardest negative of each pair over the four candidate sets of SOSNet/HyNet (train.py L173-181
 * and L46-62): a_i against the other positives (row of LR) and the other anchors (row of L), p_i
 * against the other anchors (column of LR) and the other positives (column of R). Chosen on the masked
 * matrices, read from the unmasked ones as the reference does.
 */
export function fourWayHardest(t: TianMatrices): tf.Tensor1D {
  return tf.tidy(() => {
    const row = (d: tf.Tensor2D, m: tf.Tensor2D) => tf.sum(tf.mul(d, constant(rowArgMinMask, m)), 1);
    const col = (d: tf.Tensor2D, m: tf.Tensor2D) => tf.sum(tf.mul(d, constant(colArgMinMask, m)), 0);
    return tf.minimum(tf.minimum(row(t.LR, t.LRm), row(t.L, t.Lm)), tf.minimum(col(t.LR, t.LRm), col(t.R, t.Rm))) as tf.Tensor1D;
  });
}

/** [N,N] 0/1: A[i,j] = 1 where j is among the k smallest entries of row i of `m` (plain ops: call it inside `constant`). */
export function rowKnnMask(m: tf.Tensor, k: number): tf.Tensor2D {
  const n = m.shape[1]!;
  const { indices } = tf.topk(tf.neg(m), Math.min(k, n));
  return tf.minimum(tf.sum(tf.oneHot(indices, n), 1), 1) as tf.Tensor2D;
}
