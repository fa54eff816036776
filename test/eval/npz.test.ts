import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readFeatureFile, writeFeatureFile } from "../../lib/eval/export";
import { decodeNpy, decodeNpz, encodeNpy } from "../../lib/eval/npz";
import { skipWhenAbsent } from "../support/absent";

const features = {
  keypoints: Float32Array.from([1.5, 2.25, 100, 7]),
  descriptors: Float32Array.from([0.1, 0.2, 0.3, -1, -2, -3]),
  scores: Float32Array.from([0.9, 0.8]),
  dim: 3,
};

test(".npy header: magic, version 1.0, 64-byte aligned, numpy's dict syntax", () => {
  const bytes = encodeNpy({ dtype: "<f4", shape: [2, 3], data: features.descriptors });
  assert.deepEqual(Array.from(bytes.subarray(0, 8)), [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  const headerLen = bytes[8] | (bytes[9] << 8);
  assert.equal((10 + headerLen) % 64, 0);
  const header = Buffer.from(bytes.subarray(10, 10 + headerLen)).toString("latin1");
  assert.match(header, /^\{'descr': '<f4', 'fortran_order': False, 'shape': \(2, 3\), \} *\n$/);
  assert.deepEqual(decodeNpy(bytes).data, features.descriptors);
});

test("feature files round-trip, and carry SAMFeat's shape keys", () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "npz-")), "1.ppm.test");
  writeFeatureFile(file, features, 640, 480);
  assert.deepEqual(readFeatureFile(file), features);
  const raw = decodeNpz(fs.readFileSync(file));
  assert.deepEqual(Object.keys(raw).sort(), ["descriptors", "img_shape", "keypoints", "scores", "shape"]);
  assert.deepEqual(Array.from(raw.img_shape.data as BigInt64Array, Number), [480, 640, 3]);
});

const PYTHON = "/usr/bin/python3";
/** Why numpy cannot be used here, or false when it can (scripts/setup.sh installs python3-numpy). */
function numpyAbsent(): string | false {
  try {
    execFileSync(PYTHON, ["-c", "import numpy"], { stdio: "ignore" });
    return false;
  } catch {
    return `numpy not importable by ${PYTHON} (apt-get install python3-numpy)`;
  }
}

test("numpy reads our files and we read numpy's", (t) => {
  if (skipWhenAbsent(t, numpyAbsent())) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "npz-py-"));
  const ours = path.join(dir, "1.ppm.ours");
  writeFeatureFile(ours, features, 640, 480);
  const theirs = path.join(dir, "2.ppm.theirs");
  const script = [
    "import numpy as np, sys, json",
    "z = np.load(sys.argv[1])",
    "print(json.dumps({k: [str(z[k].dtype), list(z[k].shape), z[k].ravel().tolist()] for k in ['keypoints','descriptors','scores','img_shape']}))",
    "np.savez(open(sys.argv[2], 'wb'), keypoints=np.array([[3.0, 4.0, 1.0]]), descriptors=np.ones((1, 5), np.float32), scores=np.array([0.5]))",
  ].join("\n");
  const out = JSON.parse(execFileSync(PYTHON, ["-c", script, ours, theirs], { encoding: "utf8" }));
  assert.deepEqual(out.keypoints.slice(0, 2), ["float32", [2, 2]]);
  assert.deepEqual(out.keypoints[2], Array.from(features.keypoints));
  assert.deepEqual(out.descriptors.slice(0, 2), ["float32", [2, 3]]);
  assert.deepEqual(out.scores[2], Array.from(features.scores));
  assert.deepEqual(out.img_shape, ["int64", [3], [480, 640, 3]]);
  // numpy's file: float64 keypoints with a third column, which the reader drops
  const f = readFeatureFile(theirs);
  assert.deepEqual(Array.from(f.keypoints), [3, 4]);
  assert.deepEqual(Array.from(f.descriptors), [1, 1, 1, 1, 1]);
  assert.equal(f.dim, 5);
});
