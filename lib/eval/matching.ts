// Mutual nearest neighbours on descriptor dot products (sim = Da Db^T, argmax
// both ways, keep the pairs that agree), as the HPatches MMA protocol does.
// The similarity is computed in row blocks with tf.matMul so 10k x 10k feature
// sets never materialise a 400 MB matrix.
import * as tf from "@tensorflow/tfjs";

export interface Matches {
  /** [M] index into set A */
  a: Int32Array;
  /** [M] index into set B */
  b: Int32Array;
}

/** MNN from an explicit similarity matrix [Na,Nb] (row-major). Ties go to the lowest index. */
export function mutualNearestFromSimilarity(sim: ArrayLike<number>, na: number, nb: number): Matches {
  const rowBest = new Int32Array(na).fill(-1);
  const colBest = new Int32Array(nb).fill(-1);
  const colMax = new Float64Array(nb).fill(-Infinity);
  for (let i = 0; i < na; i++) {
    let best = -Infinity;
    for (let j = 0; j < nb; j++) {
      const s = sim[i * nb + j];
      if (s > best) {
        best = s;
        rowBest[i] = j;
      }
      if (s > colMax[j]) {
        colMax[j] = s;
        colBest[j] = i;
      }
    }
  }
  return collectMutual(rowBest, colBest);
}

function collectMutual(rowBest: Int32Array, colBest: Int32Array): Matches {
  const a: number[] = [], b: number[] = [];
  for (let i = 0; i < rowBest.length; i++) {
    const j = rowBest[i];
    if (j >= 0 && colBest[j] === i) {
      a.push(i);
      b.push(j);
    }
  }
  return { a: Int32Array.from(a), b: Int32Array.from(b) };
}

/** MNN between descriptor sets da [Na,D] and db [Nb,D]. */
export function mutualNearestNeighbours(da: Float32Array, db: Float32Array, dim: number, blockRows = 1024): Matches {
  const na = da.length / dim, nb = db.length / dim;
  if (na === 0 || nb === 0) return { a: new Int32Array(0), b: new Int32Array(0) };
  const rowBest = new Int32Array(na);
  const colBest = new Int32Array(nb).fill(-1);
  const colMax = new Float32Array(nb).fill(-Infinity);
  const B = tf.tensor2d(db, [nb, dim]);
  try {
    for (let r0 = 0; r0 < na; r0 += blockRows) {
      const rows = Math.min(blockRows, na - r0);
      const [rowArg, colVal, colArg] = tf.tidy(() => {
        const A = tf.tensor2d(da.subarray(r0 * dim, (r0 + rows) * dim), [rows, dim]);
        const sim = tf.matMul(A, B, false, true);
        return [tf.argMax(sim, 1), tf.max(sim, 0), tf.argMax(sim, 0)];
      });
      const ra = rowArg.dataSync(), cv = colVal.dataSync(), ca = colArg.dataSync();
      tf.dispose([rowArg, colVal, colArg]);
      rowBest.set(ra, r0);
      for (let j = 0; j < nb; j++) {
        if (cv[j] > colMax[j]) {
          colMax[j] = cv[j];
          colBest[j] = r0 + ca[j];
        }
      }
    }
  } finally {
    B.dispose();
  }
  return collectMutual(rowBest, colBest);
}
