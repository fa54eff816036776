import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { checkpointMetadata, loadCheckpoint, saveCheckpoint } from "../../lib/models/checkpoint";
import { SamFeatNet } from "../../lib/models/samfeat";
import { writeFileAtomicSync } from "../../lib/util/atomic";
import { fromFloat32, readSafetensors, writeSafetensors } from "../../lib/util/safetensors";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "samfeat-ckpt-"));
process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));

test("save then load reproduces every parameter bit for bit, and the outputs", async () => {
  await tf.setBackend("cpu");
  const net = new SamFeatNet({ width: 0.25, descDim: 32, seed: 3 });
  // Move away from the seeded initialisation so a load that re-initialised would fail.
  for (const p of net.params.values()) tf.tidy(() => p.assign(tf.add(p, tf.randomNormal(p.shape, 0, 0.1, "float32", 9))));
  const file = path.join(dir, "a.safetensors");
  saveCheckpoint(file, net, { epoch: 4, note: "x" });
  const back = loadCheckpoint(file);
  assert.deepEqual(back.options, net.options);
  for (const [name, p] of net.params) {
    assert.deepEqual(back.params.get(name)!.dataSync(), p.dataSync(), name);
  }
  const x = tf.randomUniform([1, 16, 16, 3], -1, 1, "float32", 1) as tf.Tensor4D;
  const [a, b] = [net.apply(x), back.apply(x)];
  assert.deepEqual(a.descriptors.dataSync(), b.descriptors.dataSync());
  const meta = checkpointMetadata(file);
  assert.equal(meta.width, "0.25");
  assert.equal(meta.descDim, "32");
  assert.equal(meta.epoch, "4");
  assert.match(meta.format, /samfeat-net\/1$/);
  assert.ok(!fs.readdirSync(dir).some((f) => f !== "a.safetensors"), "no temporary file left behind");
  tf.dispose([x, ...Object.values(a), ...Object.values(b)]);
  net.dispose();
  back.dispose();
});

test("reserved metadata keys are refused", () => {
  const net = new SamFeatNet({ width: 0.1 });
  assert.throws(() => saveCheckpoint(path.join(dir, "r.safetensors"), net, { width: 2 }), /r\.safetensors.*'width' is reserved/);
  net.dispose();
});

test("a missing, mis-shaped or unexpected tensor, a truncated file or another format: errors naming file and tensor", () => {
  const net = new SamFeatNet({ width: 0.1 });
  const good = path.join(dir, "good.safetensors");
  saveCheckpoint(good, net);
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
  const missing = variant("missing.safetensors", (t) => t.delete("rows.v.weight"));
  assert.throws(() => loadCheckpoint(missing), /missing\.safetensors: tensor 'rows\.v\.weight' is missing/);
  const shaped = variant("shaped.safetensors", (t) => t.set("desc.bias", fromFloat32(new Float32Array(64), [64])));
  assert.throws(() => loadCheckpoint(shaped), /shaped\.safetensors: tensor 'desc\.bias' has shape \[64\], the network needs \[128\]/);
  const extra = variant("extra.safetensors", (t) => t.set("conv_det.weight", fromFloat32(new Float32Array(4), [4])));
  assert.throws(() => loadCheckpoint(extra), /extra\.safetensors: unexpected tensor 'conv_det\.weight'/);
  const other = variant("other.safetensors", (_, m) => (m.format = "something-else"));
  assert.throws(() => loadCheckpoint(other), /other\.safetensors: not a SamFeatNet checkpoint/);
  const truncated = path.join(dir, "truncated.safetensors");
  const bytes = fs.readFileSync(good);
  writeFileAtomicSync(truncated, bytes.subarray(0, bytes.length - 100));
  assert.throws(() => loadCheckpoint(truncated), /truncated\.safetensors: .*(truncated|outside)/);
  assert.throws(() => loadCheckpoint(path.join(dir, "absent.safetensors")), /absent\.safetensors: cannot read/);
});

test("a checkpoint with optimizer state: the EAG switch and the Adam moments come back, the next update is the same", async () => {
  await tf.setBackend("cpu");
  const { Adam } = await import("../../lib/models/adam");
  const { readCheckpointState } = await import("../../lib/models/checkpoint");
  const net = new SamFeatNet({ width: 0.25, seed: 5, eag: false });
  const opt = new Adam(net.params, { lr: 1e-2, weightDecay: 1e-4 });
  const x = tf.randomUniform([1, 16, 16, 3], -1, 1, "float32", 2) as tf.Tensor4D;
  const step = (n: SamFeatNet, o: InstanceType<typeof Adam>) => {
    const names = [...n.params.keys()];
    const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(n.apply(x).descriptors)) as tf.Scalar, names.map((k) => n.params.get(k)!));
    o.step(new Map(names.map((k) => [k, grads[n.params.get(k)!.name]])));
    tf.dispose([value, ...Object.values(grads)]);
  };
  step(net, opt);
  step(net, opt);
  const file = path.join(dir, "state.safetensors");
  const { steps, moments } = opt.exportState();
  saveCheckpoint(file, net, { step: 2 }, moments);
  assert.equal(checkpointMetadata(file).eag, "false");

  const back = loadCheckpoint(file);
  assert.equal(back.options.eag, false);
  const saved = readCheckpointState(file);
  // Moments exist for the parameters the loss reaches (not the detector heads): m and v of each.
  assert.equal(saved.state.size, moments.size);
  assert.ok(saved.state.has("m.desc.weight") && saved.state.has("v.desc.weight") && !saved.state.has("m.h.0.weight"));
  const opt2 = new Adam(back.params, { lr: 1e-2, weightDecay: 1e-4 });
  opt2.importState(steps, saved.state);
  // One more step on each: identical parameters only if m, v and the step count (bias correction) all came back.
  step(net, opt);
  step(back, opt2);
  for (const [name, p] of net.params) assert.deepEqual(back.params.get(name)!.dataSync(), p.dataSync(), name);
  // A fresh optimizer (moments lost) would move differently.
  const fresh = loadCheckpoint(file);
  step(fresh, new Adam(fresh.params, { lr: 1e-2, weightDecay: 1e-4 }));
  assert.notDeepEqual(fresh.params.get("desc.weight")!.dataSync(), net.params.get("desc.weight")!.dataSync());
  tf.dispose(x);
  for (const n of [net, back, fresh]) n.dispose();
  opt.dispose();
  opt2.dispose();
});
