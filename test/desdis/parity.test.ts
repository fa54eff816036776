// The released DesDis students, loaded from data/desdis-weights, reproduce the official PyTorch
// descriptors stored in reference.safetensors (64 patches, every width) on every backend that loads.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initEngine } from "../../lib/engine";
import { loadDesDisWeights } from "../../lib/models/patch-checkpoint";
import { patchesFromNCHW } from "../../lib/models/patch-descriptors";
import { asFloat32, readSafetensors } from "../../lib/util/safetensors";

const DIR = path.resolve(__dirname, "../../data/desdis-weights");
const WIDTHS = [8, 16, 24, 32];
const TOLERANCE = 1e-4;

const savedNative = process.env.SAMFEAT_NATIVE;
after(() => {
  if (savedNative === undefined) delete process.env.SAMFEAT_NATIVE;
  else process.env.SAMFEAT_NATIVE = savedNative;
});

/** Max |ours - official| per width on the current backend. */
function maxErrors(): Record<number, number> {
  const ref = readSafetensors(path.join(DIR, "reference.safetensors"));
  const p = ref.tensors.get("patches")!;
  assert.deepEqual(p.shape, [64, 1, 32, 32]);
  const x = patchesFromNCHW(asFloat32(p), p.shape);
  const out: Record<number, number> = {};
  for (const width of WIDTHS) {
    const net = loadDesDisWeights(path.join(DIR, `desdis-${width}.safetensors`));
    assert.equal(net.width, width);
    const y = net.apply(x, false);
    assert.deepEqual(y.shape, [64, 128]);
    const got = y.dataSync();
    const want = asFloat32(ref.tensors.get(`descriptors_${width}`)!);
    let err = 0;
    for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
    out[width] = err;
    tf.dispose(y);
    net.dispose();
  }
  x.dispose();
  return out;
}

function check(label: string, errors: Record<number, number>, t: { diagnostic: (s: string) => void }): void {
  t.diagnostic(`${label}: max abs error ${WIDTHS.map((w) => `d=${w} ${errors[w].toExponential(2)}`).join(", ")}`);
  for (const w of WIDTHS) assert.ok(errors[w] <= TOLERANCE, `${label}, width ${w}: max abs error ${errors[w]} > ${TOLERANCE}`);
}

test("DesDis-8/16/24/32 match the official descriptors within 1e-4 on cpu", async (t) => {
  await initEngine({ backend: "cpu", quiet: true });
  check("cpu", maxErrors(), t);
});

test("DesDis-8/16/24/32 match the official descriptors within 1e-4 on wasm (the project's kernels)", async (t) => {
  process.env.SAMFEAT_NATIVE = "0";
  try {
    await initEngine({ backend: "wasm", quiet: true });
  } catch (e) {
    t.skip(`wasm does not load here: ${(e as Error).message}`);
    return;
  }
  check("wasm", maxErrors(), t);
});

test("DesDis-8/16/24/32 match the official descriptors within 1e-4 on wasm with native kernels, when the addon loads", async (t) => {
  delete process.env.SAMFEAT_NATIVE;
  let info;
  try {
    info = await initEngine({ backend: "wasm", quiet: true });
  } catch (e) {
    t.skip(`wasm does not load here: ${(e as Error).message}`);
    return;
  }
  if (!info.native) {
    t.skip(`native kernels not loaded: ${info.nativeReason}`);
    return;
  }
  check(`wasm + native (${info.nativeConvolutions})`, maxErrors(), t);
});
