import { test } from "node:test";
import assert from "node:assert/strict";
import { mutualNearestFromSimilarity, mutualNearestNeighbours } from "../../lib/eval/matching";
import { Rng } from "../../lib/geometry/random";

test("mutual nearest neighbours on a hand-made similarity matrix", () => {
  // rows: A0..A2, columns: B0..B3
  //        B0   B1   B2   B3
  // A0    0.9  0.1  0.2  0.0   A0 -> B0, B0 -> A0 (0.9 > 0.8)   mutual
  // A1    0.8  0.3  0.7  0.1   A1 -> B0, but B0 prefers A0      not mutual
  // A2    0.1  0.6  0.5  0.4   A2 -> B1, B1 -> A2 (0.6 > 0.3)   mutual
  // B2's best is A1 (0.7) but A1's best is B0; B3's best is A2 but A2's best is B1.
  const sim = [0.9, 0.1, 0.2, 0.0, 0.8, 0.3, 0.7, 0.1, 0.1, 0.6, 0.5, 0.4];
  const m = mutualNearestFromSimilarity(sim, 3, 4);
  assert.deepEqual(Array.from(m.a), [0, 2]);
  assert.deepEqual(Array.from(m.b), [0, 1]);
});

test("descriptor matching equals MNN on the explicit dot-product matrix, across row blocks", () => {
  const rng = new Rng(3);
  const D = 8, na = 37, nb = 29;
  const da = Float32Array.from({ length: na * D }, () => rng.normal());
  const db = Float32Array.from({ length: nb * D }, () => rng.normal());
  const sim = new Float64Array(na * nb);
  for (let i = 0; i < na; i++) {
    for (let j = 0; j < nb; j++) {
      let s = 0;
      for (let k = 0; k < D; k++) s += da[i * D + k] * db[j * D + k];
      sim[i * nb + j] = s;
    }
  }
  const expected = mutualNearestFromSimilarity(sim, na, nb);
  assert.ok(expected.a.length > 3);
  for (const block of [5, 1024]) {
    const got = mutualNearestNeighbours(da, db, D, block);
    assert.deepEqual(Array.from(got.a), Array.from(expected.a), `block ${block}`);
    assert.deepEqual(Array.from(got.b), Array.from(expected.b), `block ${block}`);
  }
});
