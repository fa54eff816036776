import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initEngine } from "../../lib/engine";
import { loadDesDisWeights, loadPatchCheckpoint, patchCheckpointMetadata, savePatchCheckpoint } from "../../lib/models/patch-checkpoint";
import { DesDisStudent, L2NetDescriptor, PatchDescriptorNet } from "../../lib/models/patch-descriptors";
import { fromFloat32, readSafetensors, writeSafetensors } from "../../lib/util/safetensors";

const WEIGHTS = path.resolve(__dirname, "../../data/desdis-weights/desdis-8.safetensors");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "patch-ckpt-"));
process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));

before(async () => {
  await initEngine({ backend: "cpu", quiet: true });
});

/** Move every parameter and running statistic away from its initial value. */
function perturb(net: PatchDescriptorNet, seed: number): void {
  for (const v of [...net.params.values(), ...net.buffers.values()]) {
    tf.tidy(() => v.assign(tf.add(v, tf.abs(tf.randomNormal(v.shape, 0, 0.1, "float32", seed++)))));
  }
}

test("save then load reproduces every parameter and running statistic bit for bit, for both networks", () => {
  const x = tf.randomUniform([2, 32, 32, 1], 0, 1, "float32", 1) as tf.Tensor4D;
  for (const net of [new DesDisStudent({ width: 8, seed: 3, dropRate: 0.2 }), new L2NetDescriptor({ seed: 4 })] as PatchDescriptorNet[]) {
    perturb(net, 5);
    const file = path.join(dir, `${net.architecture}.safetensors`);
    savePatchCheckpoint(file, net, { epoch: 3, note: "x" });
    const back = loadPatchCheckpoint(file);
    assert.equal(back.architecture, net.architecture);
    assert.equal(back.width, net.width);
    assert.equal(back.seed, net.seed);
    assert.equal(back.dropRate, net.dropRate);
    for (const [name, v] of [...net.params, ...net.buffers]) {
      const w = back.params.get(name) ?? back.buffers.get(name);
      assert.ok(w, `${name} missing after load`);
      assert.deepEqual(w.dataSync(), v.dataSync(), name);
    }
    const [a, b] = [net.apply(x, false), back.apply(x, false)];
    assert.deepEqual(a.dataSync(), b.dataSync());
    const meta = patchCheckpointMetadata(file);
    assert.equal(meta.format, "samfeat-workbench/patch-descriptor/1");
    assert.equal(meta.architecture, net.architecture);
    assert.equal(meta.width, String(net.width));
    assert.equal(meta.epoch, "3");
    assert.equal(meta.layout, "NHWC/HWIO");
    tf.dispose([a, b]);
    net.dispose();
    back.dispose();
  }
  assert.deepEqual(fs.readdirSync(dir).sort(), ["desdis.safetensors", "l2net.safetensors"], "no temporary file left behind");
  x.dispose();
});

test("checkpoint errors name the file and the tensor", () => {
  const net = new DesDisStudent({ width: 4 });
  const good = path.join(dir, "good.safetensors");
  assert.throws(() => savePatchCheckpoint(good, net, { width: 8 }), /good\.safetensors: checkpoint metadata key 'width' is reserved/);
  savePatchCheckpoint(good, net);
  net.dispose();
  const { tensors, metadata } = readSafetensors(good);
  const variant = (name: string, edit: (t: typeof tensors, m: typeof metadata) => void) => {
    const t = new Map(tensors);
    const m = { ...metadata };
    edit(t, m);
    const file = path.join(dir, name);
    writeSafetensors(file, t, m);
    return file;
  };
  const missing = variant("missing.safetensors", (t) => t.delete("layer2.1.running_var"));
  assert.throws(() => loadPatchCheckpoint(missing), /missing\.safetensors: tensor 'layer2\.1\.running_var' is missing/);
  const shaped = variant("shaped.safetensors", (t) => t.set("desc.1.bias", fromFloat32(new Float32Array(64), [64])));
  assert.throws(() => loadPatchCheckpoint(shaped), /shaped\.safetensors: tensor 'desc\.1\.bias' has shape \[64\], the network needs \[128\]/);
  const extra = variant("extra.safetensors", (t) => t.set("desc.9.weight", fromFloat32(new Float32Array(1), [1])));
  assert.throws(() => loadPatchCheckpoint(extra), /extra\.safetensors: unexpected tensor 'desc\.9\.weight'/);
  const other = variant("other.safetensors", (_, m) => (m.format = "samfeat-workbench/samfeat-net/1"));
  assert.throws(() => loadPatchCheckpoint(other), /other\.safetensors: not a patch descriptor checkpoint/);
  const arch = variant("arch.safetensors", (_, m) => (m.architecture = "resnet"));
  assert.throws(() => loadPatchCheckpoint(arch), /arch\.safetensors: unknown architecture 'resnet'/);
  const width = variant("width.safetensors", (_, m) => (m.width = "8"));
  assert.throws(() => loadPatchCheckpoint(width), /width\.safetensors: tensor 'layer1\.1\.weight' has shape \[3,3,1,4\], the network needs \[3,3,1,8\]/);
});

test("the official DesDis weights load with every tensor checked; mismatches name the file and the tensor", () => {
  const net = loadDesDisWeights(WEIGHTS);
  assert.equal(net.width, 8);
  // OIHW [8,1,3,3] -> HWIO [3,3,1,8]: weight[o][0][kh][kw] lands at [kh][kw][0][o].
  const { tensors } = readSafetensors(WEIGHTS);
  const oihw = new Float32Array(new Uint8Array(tensors.get("layer1.1.weight")!.data).buffer);
  const hwio = net.params.get("layer1.1.weight")!.dataSync();
  assert.equal(hwio[(2 * 3 + 1) * 8 + 5], oihw[5 * 9 + 2 * 3 + 1]);
  net.dispose();

  const variant = (name: string, edit: (t: typeof tensors) => void) => {
    const t = new Map(tensors);
    edit(t);
    const file = path.join(dir, name);
    writeSafetensors(file, t);
    return file;
  };
  // PyTorch's num_batches_tracked counters are ignored.
  const counters = variant("counters.safetensors", (t) => t.set("layer1.2.num_batches_tracked", { dtype: "I64", shape: [], data: new Uint8Array(8) }));
  loadDesDisWeights(counters).dispose();
  const missing = variant("w-missing.safetensors", (t) => t.delete("desc.2.running_mean"));
  assert.throws(() => loadDesDisWeights(missing), /w-missing\.safetensors: tensor 'desc\.2\.running_mean' is missing/);
  const shaped = variant("w-shaped.safetensors", (t) => t.set("layer3.3.weight", fromFloat32(new Float32Array(32 * 32 * 9), [32, 32, 1, 9])));
  assert.throws(() => loadDesDisWeights(shaped), /w-shaped\.safetensors: tensor 'layer3\.3\.weight' has shape \[32,32,1,9\], the desdis network of width 8 needs \[32,32,3,3\]/);
  const extra = variant("w-extra.safetensors", (t) => t.set("desc.2.weight", fromFloat32(new Float32Array(128), [128])));
  assert.throws(() => loadDesDisWeights(extra), /w-extra\.safetensors: unexpected tensor 'desc\.2\.weight'/);
  const dtype = variant("w-dtype.safetensors", (t) => t.set("desc.1.bias", { dtype: "F16", shape: [128], data: new Uint8Array(256) }));
  assert.throws(() => loadDesDisWeights(dtype), /w-dtype\.safetensors: tensor 'desc\.1\.bias': expected dtype F32, found F16/);
  const first = variant("w-first.safetensors", (t) => t.delete("layer1.1.weight"));
  assert.throws(() => loadDesDisWeights(first), /w-first\.safetensors: tensor 'layer1\.1\.weight' is missing: not a DesDis student/);
  const nan = variant("w-nan.safetensors", (t) => t.set("desc.1.bias", fromFloat32(new Float32Array(128).fill(NaN), [128])));
  assert.throws(() => loadDesDisWeights(nan), /w-nan\.safetensors: tensor 'desc\.1\.bias' holds non-finite values/);
  assert.throws(() => loadDesDisWeights(path.join(dir, "absent.safetensors")), /absent\.safetensors: cannot read/);
});
