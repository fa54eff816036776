// distill: the DesDis teacher-student regulariser (Liu and Dong, "Descriptor Distillation: a
// Teacher-Student-Regularized Framework for Learning Local Descriptors", arXiv 2209.11795; method.md
// B.2; lib/losses/teacher-student.ts) applied to the SAMFeat descriptor head. This dense form is the
// workbench's extension and is in neither paper: DesDis distils patch descriptors, SAMFeat distils
// SAM's embeddings, never a trained descriptor network into a smaller one.
//
// A frozen dense teacher (a trained SamFeatNet) sees the student's batch. Both are sampled at the
// correspondences the des loss uses (sampleDescriptors: targets.points, bilinear, border padding),
// and for each pair b of the batch (first view row b, second view row B+b), over its valid
// correspondences V_b (targets.valid), m = |V_b|:
//   a_i = d̂_S(p_i^0), p_i = d̂_S(p_i^1)   [m,D_S]   the student's unit descriptors
//   a'_i = d̂_T(p_i^0), p'_i = d̂_T(p_i^1)  [m,D_T]   the teacher's, at the same points
//   R_b = teacherStudentRegularizer(a, p, a', p', { form, exclude: notSearch_b restricted to V_b })
// i.e. the student's positive and hardest-negative cosine similarities against the teacher's on the
// SAME descriptor pairs, the negatives mined by the student (HardNet mining with anchor swap and the
// 0.008 false-negative rule, as teacher-student.ts does for patches) among the pair's own valid
// correspondences, never among the des loss's not-search neighbours (within 16 px in the second view).
//   L_distill = mean of R_b over the pairs with at least 2 valid correspondences (0 when there is none)
// The student's objective is L_row + lambda * L_distill (the trainer applies lambda; lib/training).
//
// What is fed to the patch regulariser, and why:
//   - per batch item, not flattened: the [m,D] anchors/positives of one image pair at a time, so a
//     negative is another point of the same pair, as the des loss mines (flattening would mine across
//     unrelated images, and the not-search mask exists only within a pair);
//   - unit descriptors d̂ = x / |x| (x = attention · normalize(descriptor) from sampleDescriptors):
//     the cosine similarities the regulariser compares ignore the positive attention scale anyway, and
//     HardNet's mining constants (the 0.008 threshold, the offset 10) are meant for unit vectors;
//   - invalid correspondences are dropped (a one-hot selection matmul, whose gradient every backend
//     has) rather than masked, so they are neither compared nor mined.
// The teacher's descriptors get no gradient (teacherStudentRegularizer stops it; the trainer also
// computes them outside the gradient closure). Teacher and student may have different widths and
// descriptor sizes: each similarity is taken in its own network's space.
import * as tf from "@tensorflow/tfjs";
import { sampleDescriptors, SampledDescriptors } from "./descriptor";
import { REGULARIZER_FORMS, RegularizerForm, teacherStudentRegularizer } from "./teacher-student";
import type { PairOutputs, PairTargets } from "./types";

export { REGULARIZER_FORMS };
export type { RegularizerForm };

export interface DenseDistillationOptions {
  form: RegularizerForm;
  /** Mine (a_k, p_i) negatives too. Default true (teacher-student.ts). */
  anchorSwap?: boolean;
  /** Student distances below this are false negatives, never mined. Default 0.008 (teacher-student.ts). */
  falseNegativeThreshold?: number;
}

/** x / max(|x|, 1e-12) along the last axis: [R,n,D] -> [R,n,D]. */
function unitRows(x: tf.Tensor3D): tf.Tensor3D {
  return tf.div(x, tf.maximum(tf.norm(x, 2, 2, true), 1e-12)) as tf.Tensor3D;
}

/** Row `row` of a [R,n,D] tensor: [n,D]. */
function rowOf(x: tf.Tensor3D, row: number): tf.Tensor2D {
  const [, n, d] = x.shape;
  return tf.reshape(tf.slice(x, [row, 0, 0], [1, n, d]), [n, d]) as tf.Tensor2D;
}

/**
 * The dense regulariser from descriptors already sampled at targets.points: student and teacher
 * SampledDescriptors ([2B,n,D_S] and [2B,n,D_T]). The trainer samples the teacher outside the
 * gradient closure and passes it here.
 */
export function denseDistillationFromSamples(student: SampledDescriptors, teacher: SampledDescriptors, targets: PairTargets, opts: DenseDistillationOptions): tf.Scalar {
  const B = targets.pairs;
  const [rows, n] = student.x.shape;
  if (rows !== 2 * B || teacher.x.shape[0] !== 2 * B || teacher.x.shape[1] !== n || targets.valid.shape[1] !== n) {
    throw new Error(`dense distillation: student [${student.x.shape}] and teacher [${teacher.x.shape}] samples must both be [2B,n,D] for B = ${B} pairs of n = ${targets.valid.shape[1]} points`);
  }
  // Which correspondences are valid is a constant of the batch: read it once (a [B,n] read-back).
  const valid = targets.valid.arraySync();
  return tf.tidy(() => {
    const s = unitRows(student.x); // [2B,n,D_S]
    const t = unitRows(teacher.x); // [2B,n,D_T]
    const perPair: tf.Scalar[] = [];
    for (let b = 0; b < B; b++) {
      const kept = valid[b].flatMap((v, i) => (v > 0 ? [i] : []));
      if (kept.length < 2) continue; // in-batch mining needs two pairs
      const m = kept.length;
      const select = new Float32Array(m * n);
      kept.forEach((i, k) => (select[k * n + i] = 1));
      const S = tf.tensor2d(select, [m, n]); // [m,n] one-hot rows: the valid correspondences
      const pick = (x: tf.Tensor3D, row: number) => tf.matMul(S, rowOf(x, row)) as tf.Tensor2D; // [m,D]
      const notSearch = rowOf(targets.notSearch, b); // [n,n]
      const exclude = tf.matMul(tf.matMul(S, notSearch), S, false, true) as tf.Tensor2D; // [m,m]
      perPair.push(teacherStudentRegularizer(pick(s, b), pick(s, B + b), pick(t, b), pick(t, B + b), { ...opts, exclude, reduction: "mean" }));
    }
    return perPair.length === 0 ? tf.scalar(0) : (tf.div(tf.addN(perPair), perPair.length) as tf.Scalar);
  });
}

/**
 * The dense regulariser of a student's outputs against a frozen teacher's on the same batch
 * (both [2B,...] SamFeatNet outputs; lib/losses/types.ts). Unweighted: the objective adds lambda times it.
 */
export function denseDistillationLoss(studentOutputs: PairOutputs, teacherOutputs: PairOutputs, targets: PairTargets, opts: DenseDistillationOptions): tf.Scalar {
  return tf.tidy(() => denseDistillationFromSamples(sampleDescriptors(studentOutputs, targets), sampleDescriptors(teacherOutputs, targets), targets, opts));
}
