// The DesDis teacher-student regulariser (Liu and Dong, arXiv 2209.11795; method.md B.2). The paper's
// exact formula is not available to the workbench [UNVERIFIED]; this implements the abstract's
// description, "constrain the difference between the positive (also negative) pair similarity from the
// teacher model and that from the student model", in the three forms method.md B.2 lists:
//   s = cosine similarity; for pair i, s+ = s(a_i, p_i) and s- = s(n-pair of i), where the negative
//   pair is the student's hardest in-batch negative, mined as HardNet does on the student's L2
//   distances (anchor swap and the 0.008 false-negative exclusion by default): (a_i, p_j) or (a_k, p_i).
//   The teacher's similarity is read on the same index pair. Entries marked in `exclude` (e.g. the
//   neighbours of a dense correspondence, lib/losses/dense-distillation.ts) are never mined either.
//   "abs":    |s_S+ - s_T+| + |s_S- - s_T-|
//   "square": (s_S+ - s_T+)^2 + (s_S- - s_T-)^2
//   "hinge":  max(0, s_T+ - s_S+) + max(0, s_S- - s_T-)   (one-sided: the student may beat the teacher)
//   averaged over the N pairs. The teacher is frozen: its descriptors get no gradient.
// The student's objective is then L_triplet(S) + lambda * this (lambda to be ablated).
import * as tf from "@tensorflow/tfjs";
import { checkPairs, diagonal, FALSE_NEGATIVE_THRESHOLD, hardestNegativePairs, hardnetDistanceMatrix, hardnetMiningMatrix, PairChoice, pickChoice, reduce, Reduction, stopGradient } from "./patch-mining";

export const REGULARIZER_FORMS = ["abs", "square", "hinge"] as const;
export type RegularizerForm = (typeof REGULARIZER_FORMS)[number];

export interface TeacherStudentOptions {
  form: RegularizerForm;
  /** Mine (a_k, p_i) negatives too. Default true. */
  anchorSwap?: boolean;
  /** Student distances below this are false negatives, never mined. Default 0.008. */
  falseNegativeThreshold?: number;
  /**
   * [N,N] 0/1 constant: 1 where (a_i, p_j) must never be mined as a negative (pushed away by 10, as
   * the diagonal). Default none: only the diagonal and the false negatives are excluded.
   */
  exclude?: tf.Tensor2D;
  /** Default "mean". */
  reduction?: Reduction;
}

/** Row-wise cosine similarity matrix [N,N] of x [N,D] against y [N,D]. */
function cosineMatrix(x: tf.Tensor2D, y: tf.Tensor2D): tf.Tensor2D {
  const unit = (v: tf.Tensor2D) => tf.div(v, tf.maximum(tf.norm(v, 2, 1, true), 1e-12)) as tf.Tensor2D;
  return tf.matMul(unit(x), unit(y), false, true);
}

/** Per-pair similarities the regulariser compares: positive and (student-mined) negative, student and teacher. */
export interface PairSimilarities {
  studentPositive: tf.Tensor1D;
  studentNegative: tf.Tensor1D;
  teacherPositive: tf.Tensor1D;
  teacherNegative: tf.Tensor1D;
  /** The negative pair of each i in the [N,N] anchor-positive matrix: (a_i, p_j) or (a_k, p_i). */
  negativePairs: PairChoice;
}

export function pairSimilarities(
  studentAnchors: tf.Tensor2D,
  studentPositives: tf.Tensor2D,
  teacherAnchors: tf.Tensor2D,
  teacherPositives: tf.Tensor2D,
  opts: Omit<TeacherStudentOptions, "form" | "reduction"> = {},
): PairSimilarities {
  checkPairs("teacher-student (student)", studentAnchors, studentPositives);
  checkPairs("teacher-student (teacher)", teacherAnchors, teacherPositives);
  if (teacherAnchors.shape[0] !== studentAnchors.shape[0]) {
    throw new Error(`teacher-student: ${teacherAnchors.shape[0]} teacher pairs for ${studentAnchors.shape[0]} student pairs`);
  }
  const n = studentAnchors.shape[0];
  if (opts.exclude && (opts.exclude.rank !== 2 || opts.exclude.shape[0] !== n || opts.exclude.shape[1] !== n)) {
    throw new Error(`teacher-student: exclude must be [${n},${n}], got [${opts.exclude.shape}]`);
  }
  return tf.tidy(() => {
    const dist = hardnetDistanceMatrix(studentAnchors, studentPositives);
    const excluded = opts.exclude ? (tf.add(dist, tf.mul(stopGradient(opts.exclude), 10)) as tf.Tensor2D) : dist;
    const m = hardnetMiningMatrix(excluded, opts.falseNegativeThreshold ?? FALSE_NEGATIVE_THRESHOLD);
    const negativePairs = hardestNegativePairs(m, opts.anchorSwap ?? true);
    const sS = cosineMatrix(studentAnchors, studentPositives);
    const sT = cosineMatrix(stopGradient(teacherAnchors), stopGradient(teacherPositives));
    return {
      studentPositive: diagonal(sS),
      studentNegative: pickChoice(sS, negativePairs),
      teacherPositive: diagonal(sT),
      teacherNegative: pickChoice(sT, negativePairs),
      negativePairs,
    } as unknown as tf.TensorContainerObject;
  }) as unknown as PairSimilarities;
}

/** The regulariser on N pairs: student and teacher descriptors [N,D] of the same patches. */
export function teacherStudentRegularizer(
  studentAnchors: tf.Tensor2D,
  studentPositives: tf.Tensor2D,
  teacherAnchors: tf.Tensor2D,
  teacherPositives: tf.Tensor2D,
  opts: TeacherStudentOptions,
): tf.Scalar {
  const form = opts.form;
  if (form !== "abs" && form !== "square" && form !== "hinge") throw new Error(`teacherStudentRegularizer: unknown form '${form as string}' (abs, square or hinge)`);
  return tf.tidy(() => {
    const s = pairSimilarities(studentAnchors, studentPositives, teacherAnchors, teacherPositives, opts);
    let pos: tf.Tensor;
    let neg: tf.Tensor;
    if (form === "hinge") {
      pos = tf.relu(tf.sub(s.teacherPositive, s.studentPositive));
      neg = tf.relu(tf.sub(s.studentNegative, s.teacherNegative));
    } else {
      const phi = form === "abs" ? tf.abs : tf.square;
      pos = phi(tf.sub(s.studentPositive, s.teacherPositive));
      neg = phi(tf.sub(s.studentNegative, s.teacherNegative));
    }
    return reduce(tf.add(pos, neg) as tf.Tensor1D, opts.reduction ?? "mean");
  });
}
