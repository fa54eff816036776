import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { randomValues } from "../engine/helpers";
import { initEngine } from "../../lib/engine";
import { hardnetLoss } from "../../lib/losses/hardnet";
import { DesDisStudent, L2NetDescriptor, oihwToHwio, patchesFromNCHW } from "../../lib/models/patch-descriptors";

before(async () => {
  await initEngine({ backend: "cpu", quiet: true });
});

/** Deterministic values in [0, 1) (mulberry32, as the engine tests' randomValues). */
function uniform(n: number, seed: number): Float32Array {
  return randomValues(n, seed).map((v) => (v + 1) / 2);
}

// method.md B.3's table counts the trainable parameters: convolution weights plus the one conv bias of
// the DesDis head; BatchNorm has no affine parameters, and its running statistics are not counted.
//   L2-Net size: 9(1*32 + 32*32 + 32*64 + 64*64 + 64*128 + 128*128) + 64*128*128 = 285,984 + 1,048,576
//   DesDis-d: 9(d + 2d^2 + 8d^2 + 16d^2) + 16*4d*128 + 128, e.g. d = 8: 72 + 1152 + 4608 + 9216 + 65536 + 128
test("parameter counts equal method.md's table (trainable parameters; running statistics excluded)", () => {
  const l2 = new L2NetDescriptor();
  assert.equal(l2.numParams(), 1_334_560);
  // With the running statistics the count would be 1,335,712: not the table's convention.
  assert.equal(l2.numBuffers(), 2 * (32 + 32 + 64 + 64 + 128 + 128 + 128));
  assert.ok(![...l2.params.keys()].some((k) => k.endsWith(".bias")), "HardNet's convolutions have no bias");
  l2.dispose();
  const table: Record<number, number> = { 32: 502_176, 24: 331_736, 16: 191_248, 8: 80_712 };
  for (const [d, count] of Object.entries(table)) {
    const net = new DesDisStudent({ width: Number(d) });
    assert.equal(net.numParams(), count, `DesDis-${d}`);
    assert.equal(net.numBuffers(), 2 * (11 * Number(d) + 128), `DesDis-${d} running statistics`);
    assert.deepEqual([...net.params.keys()].filter((k) => k.endsWith(".bias")), ["desc.1.bias"]);
    net.dispose();
  }
});

test("layer names and shapes follow the PyTorch modules", () => {
  const net = new DesDisStudent({ width: 8 });
  const shapes = Object.fromEntries([...net.params, ...net.buffers].map(([k, v]) => [k, v.shape]));
  assert.deepEqual(shapes, {
    "layer1.1.weight": [3, 3, 1, 8],
    "layer2.0.weight": [3, 3, 8, 16],
    "layer3.0.weight": [3, 3, 16, 32],
    "layer3.3.weight": [3, 3, 32, 32],
    "desc.1.weight": [4, 4, 32, 128],
    "desc.1.bias": [128],
    "layer1.2.running_mean": [8],
    "layer1.2.running_var": [8],
    "layer2.1.running_mean": [16],
    "layer2.1.running_var": [16],
    "layer3.1.running_mean": [32],
    "layer3.1.running_var": [32],
    "layer3.4.running_mean": [32],
    "layer3.4.running_var": [32],
    "desc.2.running_mean": [128],
    "desc.2.running_var": [128],
  });
  net.dispose();
  const l2 = new L2NetDescriptor();
  assert.deepEqual(
    [...l2.params.keys()],
    ["features.0.weight", "features.3.weight", "features.6.weight", "features.9.weight", "features.12.weight", "features.15.weight", "features.19.weight"],
  );
  assert.deepEqual(l2.params.get("features.19.weight")!.shape, [8, 8, 128, 128]);
  assert.ok(l2.buffers.has("features.20.running_var"));
  l2.dispose();
});

test("seeded initialisation: same seed, same weights; HardNet's is orthogonal with gain 0.6", () => {
  const [a, b, c] = [new DesDisStudent({ width: 8, seed: 5 }), new DesDisStudent({ width: 8, seed: 5 }), new DesDisStudent({ width: 8, seed: 6 })];
  for (const [name, p] of a.params) assert.deepEqual(p.dataSync(), b.params.get(name)!.dataSync(), name);
  assert.notDeepEqual(a.params.get("layer2.0.weight")!.dataSync(), c.params.get("layer2.0.weight")!.dataSync());
  // PyTorch's default conv init: |w| <= 1/sqrt(fan_in).
  const w = a.params.get("layer2.0.weight")!.dataSync();
  assert.ok(w.every((v) => Math.abs(v) <= 1 / Math.sqrt(8 * 9)));
  [a, b, c].forEach((n) => n.dispose());

  const l2 = new L2NetDescriptor({ seed: 1 });
  // Flattened as PyTorch [cout, cin*k*k]: features.0 is 32 x 9, so its 9 columns are orthogonal with
  // norm 0.6; features.19 is 128 x 8192, so its 128 rows are.
  const gram = (name: string, rowsOrthogonal: boolean) => {
    const v = l2.params.get(name)!;
    const [k, , cin, cout] = v.shape;
    const hwio = v.dataSync();
    const flat = (o: number, f: number) => {
      const i = Math.floor(f / (k * k));
      const kh = Math.floor((f % (k * k)) / k);
      const kw = f % k;
      return hwio[((kh * k + kw) * cin + i) * cout + o];
    };
    const [n, len] = rowsOrthogonal ? [cout, cin * k * k] : [cin * k * k, cout];
    const at = (r: number, j: number) => (rowsOrthogonal ? flat(r, j) : flat(j, r));
    let worst = 0;
    for (const [r, s] of [[0, 0], [0, 1], [1, 1], [n - 1, n - 1], [2, n - 1], [n - 2, n - 1]]) {
      let dot = 0;
      for (let j = 0; j < len; j++) dot += at(r, j) * at(s, j);
      worst = Math.max(worst, Math.abs(dot - (r === s ? 0.36 : 0)));
    }
    return worst;
  };
  assert.ok(gram("features.0.weight", false) < 1e-5);
  assert.ok(gram("features.19.weight", true) < 1e-5);
  l2.dispose();
});

test("evaluation: one descriptor per patch, unit norm, batch-independent, batch size 1 works", () => {
  const x = tf.tensor4d(uniform(3 * 32 * 32, 1), [3, 32, 32, 1]);
  for (const net of [new DesDisStudent({ width: 8, seed: 2 }), new L2NetDescriptor({ seed: 2 })]) {
    const y = net.apply(x, false);
    assert.deepEqual(y.shape, [3, 128]);
    const norms = tf.norm(y, 2, 1).dataSync();
    norms.forEach((v) => assert.ok(Math.abs(v - 1) < 1e-5, `${net.architecture}: norm ${v}`));
    const one = net.apply(tf.slice(x, [1, 0, 0, 0], [1, 32, 32, 1]) as tf.Tensor4D, false);
    const row = tf.slice(y, [1, 0], [1, 128]);
    assert.ok(tf.max(tf.abs(tf.sub(one, row))).dataSync()[0] < 1e-5, `${net.architecture}: batch-dependent output in evaluation`);
    const { raw, descriptors } = net.forward(x, false);
    assert.ok(tf.max(tf.abs(tf.sub(descriptors, tf.div(raw, tf.norm(raw, 2, 1, true))))).dataSync()[0] < 1e-5);
    tf.dispose([y, one, row, raw, descriptors]);
    net.dispose();
  }
  x.dispose();
});

test("input checks", () => {
  const net = new DesDisStudent({ width: 4 });
  assert.throws(() => net.apply(tf.zeros([2, 32, 32, 3]) as tf.Tensor4D, false), /desdis: expected patches \[N,32,32,1\]/);
  assert.throws(() => net.apply(tf.zeros([2, 16, 16, 1]) as tf.Tensor4D, false), /expected patches/);
  assert.throws(() => net.apply(tf.zeros([1, 32, 32, 1]) as tf.Tensor4D, true), /at least 2 patches/);
  assert.throws(() => new DesDisStudent({ width: 2.5 }), /width must be a positive integer/);
  assert.throws(() => new L2NetDescriptor({ dropRate: 1 }), /dropRate must be in \[0, 1\)/);
  net.dispose();
});

// The first BatchNorm of DesDis (layer1.2) sees conv3x3/s2/p1(InstanceNorm(x)); computed here with loops.
function firstLayerPreBN(net: DesDisStudent, patches: Float32Array, n: number): Float64Array[] {
  const d = net.width;
  const w = net.params.get("layer1.1.weight")!.dataSync(); // HWIO [3,3,1,d]
  const perChannel = Array.from({ length: d }, () => new Float64Array(n * 16 * 16));
  for (let b = 0; b < n; b++) {
    const img = patches.subarray(b * 1024, (b + 1) * 1024);
    let mean = 0;
    for (const v of img) mean += v;
    mean /= 1024;
    let variance = 0;
    for (const v of img) variance += (v - mean) ** 2;
    variance /= 1024; // biased, as InstanceNorm2d
    const norm = (y: number, x: number) => (y < 0 || x < 0 || y >= 32 || x >= 32 ? 0 : (img[y * 32 + x] - mean) / Math.sqrt(variance + 1e-5));
    for (let oy = 0; oy < 16; oy++) {
      for (let ox = 0; ox < 16; ox++) {
        for (let c = 0; c < d; c++) {
          let s = 0;
          for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 3; kx++) s += norm(2 * oy - 1 + ky, 2 * ox - 1 + kx) * w[(ky * 3 + kx) * d + c];
          perChannel[c][(b * 16 + oy) * 16 + ox] = s;
        }
      }
    }
  }
  return perChannel;
}

test("BatchNorm running statistics: PyTorch's momentum 0.1 update with the unbiased variance, one per training forward pass, in order", () => {
  const net = new DesDisStudent({ width: 2, seed: 3 });
  const n = 3;
  const x1 = uniform(n * 1024, 7);
  const x2 = uniform(n * 1024, 8).map((v) => v * v);
  const stats = (values: Float64Array) => {
    let mean = 0;
    for (const v of values) mean += v;
    mean /= values.length;
    let ss = 0;
    for (const v of values) ss += (v - mean) ** 2;
    return { mean, unbiased: ss / (values.length - 1) };
  };
  const s1 = firstLayerPreBN(net, x1, n).map(stats);
  const s2 = firstLayerPreBN(net, x2, n).map(stats);

  // Evaluation passes do not queue statistics; training passes do, and nothing moves before the update.
  tf.dispose(net.apply(tf.tensor4d(x1, [n, 32, 32, 1]), false));
  assert.equal(net.pendingBatchStats(), 0);
  tf.dispose(net.apply(tf.tensor4d(x1, [n, 32, 32, 1]), true));
  tf.dispose(net.apply(tf.tensor4d(x2, [n, 32, 32, 1]), true));
  assert.equal(net.pendingBatchStats(), 2);
  assert.deepEqual(Array.from(net.buffers.get("layer1.2.running_mean")!.dataSync()), [0, 0]);
  assert.equal(net.updateRunningStats(), 2);
  assert.equal(net.pendingBatchStats(), 0);

  const rm = net.buffers.get("layer1.2.running_mean")!.dataSync();
  const rv = net.buffers.get("layer1.2.running_var")!.dataSync();
  for (let c = 0; c < 2; c++) {
    // Two PyTorch forward passes: m <- 0.9 m + 0.1 batch, starting from mean 0, var 1.
    const wantMean = 0.9 * (0.1 * s1[c].mean) + 0.1 * s2[c].mean;
    const wantVar = 0.9 * (0.9 * 1 + 0.1 * s1[c].unbiased) + 0.1 * s2[c].unbiased;
    assert.ok(Math.abs(rm[c] - wantMean) < 1e-5 * Math.max(1, Math.abs(wantMean)), `channel ${c} mean ${rm[c]} vs ${wantMean}`);
    assert.ok(Math.abs(rv[c] - wantVar) < 1e-5 * Math.max(1, wantVar), `channel ${c} var ${rv[c]} vs ${wantVar}`);
  }
  // The head's BatchNorm sees N values per channel (1x1 maps): its running_var moved as well.
  assert.ok(net.buffers.get("desc.2.running_var")!.dataSync().some((v) => v !== 1));
  net.dispose();
});

test("training mode: batch statistics and seeded dropout (reproducible per seed), differing from evaluation", () => {
  const x = tf.tensor4d(uniform(4 * 1024, 9), [4, 32, 32, 1]);
  const [a, b] = [new DesDisStudent({ width: 4, seed: 1 }), new DesDisStudent({ width: 4, seed: 1 })];
  const ya = a.apply(x, true);
  const yb = b.apply(x, true);
  assert.deepEqual(ya.dataSync(), yb.dataSync(), "same seed, same dropout masks");
  const ya2 = a.apply(x, true);
  assert.notDeepEqual(ya2.dataSync(), ya.dataSync(), "a new mask on the next call");
  const ye = a.apply(x, false);
  assert.notDeepEqual(ye.dataSync(), ya.dataSync());
  // Without dropout, training output normalises with batch statistics: the head's BN output has zero
  // batch mean per channel.
  const nd = new DesDisStudent({ width: 4, seed: 1, dropRate: 0 });
  const { raw } = nd.forward(x, true);
  assert.ok(tf.max(tf.abs(tf.mean(raw, 0))).dataSync()[0] < 1e-5);
  tf.dispose([x, ya, yb, ya2, ye, raw]);
  [a, b, nd].forEach((n) => n.dispose());
});

test("a few SGD steps of HardNet's loss through DesDis-8 lower the loss (gradients reach every parameter)", () => {
  const net = new DesDisStudent({ width: 8, seed: 4 });
  const n = 8;
  const base = uniform(n * 1024, 10);
  // Positives: the same patches with a little noise and a brightness change.
  const noise = uniform(n * 1024, 11);
  const pos = base.map((v, i) => Math.min(1, 0.9 * v + 0.05 + 0.05 * noise[i]));
  const xa = tf.tensor4d(base, [n, 32, 32, 1]);
  const xp = tf.tensor4d(pos, [n, 32, 32, 1]);
  const optimizer = tf.train.sgd(0.05);
  const losses: number[] = [];
  for (let step = 0; step < 4; step++) {
    const { value, grads } = tf.variableGrads(() => hardnetLoss(net.apply(xa, true), net.apply(xp, true)), net.trainableVariables());
    if (step === 0) {
      for (const [name, v] of net.params) assert.ok(tf.max(tf.abs(grads[v.name])).dataSync()[0] > 0, `no gradient for ${name}`);
    }
    optimizer.applyGradients(grads);
    net.updateRunningStats();
    losses.push(value.dataSync()[0]);
    tf.dispose([value, ...Object.values(grads)]);
  }
  assert.ok(losses[3] < losses[0], `losses ${losses}`);
  tf.dispose([xa, xp]);
  optimizer.dispose();
  net.dispose();
});

test("layout helpers: OIHW -> HWIO and NCHW patches -> NHWC", () => {
  // O=2, I=1, 1x2 kernel: oihw[o][0][0][x] = 10 o + x -> hwio[0][x][0][o]
  assert.deepEqual(Array.from(oihwToHwio(new Float32Array([0, 1, 10, 11]), [2, 1, 1, 2])), [0, 10, 1, 11]);
  const p = patchesFromNCHW(new Float32Array(2 * 32 * 32).map((_, i) => i), [2, 1, 32, 32]);
  assert.deepEqual(p.shape, [2, 32, 32, 1]);
  assert.equal(p.dataSync()[1024 + 33], 1024 + 33);
  assert.throws(() => patchesFromNCHW(new Float32Array(6 * 4), [2, 3, 2, 2]), /expected \[N,1,H,W\]/);
  p.dispose();
});
