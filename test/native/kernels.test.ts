// Each native kernel against tfjs's `cpu` backend on random inputs, plus a finite-difference gradient check
// of a small conv net running on the native kernels. Skipped (with the reason) when the addon is absent;
// failed instead under CI=true (test/support/absent.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { registerNativeKernels, NativeStatus } from "../../lib/engine/native";
import { skipWhenAbsent } from "../support/absent";

type Spec = { shape: number[]; data: Float32Array };
type Inputs = Record<string, Spec>;

let rngState = 12345;
function random(shape: number[], scale = 1): Spec {
  const n = shape.reduce((p, d) => p * d, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    rngState = (rngState * 1103515245 + 12345) >>> 0; // LCG: reproducible, independent of tfjs
    data[i] = ((rngState / 2 ** 32) * 2 - 1) * scale;
  }
  return { shape, data };
}

let status: NativeStatus = { loaded: false, reason: "not initialised", threads: 0, convolutions: "" };
const ready = (async () => {
  const dist = path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json"));
  setWasmPaths(path.join(dist, "dist") + path.sep);
  await tf.setBackend("wasm");
  status = registerNativeKernels(2);
})();

async function absentReason(): Promise<string | false> {
  await ready;
  return status.loaded ? false : `native kernels absent: ${status.reason}`;
}

/** Runs one kernel on a backend; returns every output's values. */
async function runOn(backend: string, kernel: string, inputs: Inputs, attrs: object): Promise<Spec[]> {
  await tf.setBackend(backend);
  const ts = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, tf.tensor(v.data, v.shape, "float32")]));
  // Concat takes its inputs as a list.
  const named = kernel === "Concat" ? Object.values(ts) : ts;
  const out = tf.engine().runKernel(kernel, named as unknown as tf.NamedTensorMap, attrs as tf.NamedAttrMap);
  const outs = Array.isArray(out) ? out : [out];
  const result = outs.map((t) => ({ shape: t.shape, data: t.dataSync() as Float32Array }));
  tf.dispose([...Object.values(ts), ...outs]);
  await tf.setBackend("wasm");
  return result;
}

function assertClose(got: Spec, want: Spec, what: string, tol = 1e-4): void {
  assert.deepEqual(got.shape, want.shape, `${what}: shape`);
  let scale = 0, err = 0;
  for (let i = 0; i < want.data.length; i++) {
    scale = Math.max(scale, Math.abs(want.data[i]));
    err = Math.max(err, Math.abs(got.data[i] - want.data[i]));
  }
  assert.ok(err <= tol * Math.max(scale, 1e-3), `${what}: max abs error ${err} vs output scale ${scale}`);
}

async function compare(kernel: string, inputs: Inputs, attrs: object, what: string): Promise<void> {
  const want = await runOn("cpu", kernel, inputs, attrs);
  const got = await runOn("wasm", kernel, inputs, attrs);
  assert.equal(got.length, want.length, `${what}: output count`);
  got.forEach((g, i) => assertClose(g, want[i], `${what} output ${i}`));
}

// [batch, H, W, Ci, Co, k, stride, pad, dilation]
type ConvCase = [number, number, number, number, number, number, number, "same" | "valid" | number[][], number];
const CONV_CASES: ConvCase[] = [
  [1, 7, 9, 3, 5, 3, 1, "same", 1],
  [2, 8, 8, 4, 6, 3, 2, "same", 1],
  [2, 9, 7, 5, 3, 3, 2, "valid", 1],
  [3, 6, 6, 8, 8, 1, 1, "same", 1],
  [2, 5, 7, 4, 7, 1, 2, "valid", 1],
  [2, 11, 13, 6, 5, 5, 1, "same", 1],
  [1, 9, 10, 3, 4, 3, 2, [[0, 0], [1, 2], [2, 0], [0, 0]], 1],
  [1, 40, 40, 512, 4, 3, 1, "same", 1], // direct (few output channels), long dot products
  [1, 24, 24, 256, 8, 3, 1, "same", 1], // several patch-matrix chunks per thread
  [2, 12, 10, 64, 1, 3, 1, "same", 1], // a detector head
  [2, 9, 8, 2, 16, 3, 1, "same", 1], // few input channels: input gradient by scattering
  [2, 10, 9, 6, 8, 3, 2, "valid", 1], // a last row and column the windows never reach
];

test("Conv2D and FusedConv2D match cpu", async (t) => {
  if (skipWhenAbsent(t, await absentReason())) return;
  const cases: ConvCase[] = [...CONV_CASES, [1, 10, 10, 3, 4, 3, 1, "valid", 2], [2, 9, 9, 2, 3, 3, 1, "same", 2],
    [1, 11, 10, 6, 8, 3, 1, "same", 2]];
  for (const [b, h, w, ci, co, k, s, pad, d] of cases) {
    const what = `conv ${[b, h, w, ci, co, k, s, JSON.stringify(pad), d].join(",")}`;
    const x = random([b, h, w, ci]), filter = random([k, k, ci, co]), bias = random([co]);
    const attrs = { strides: s, pad, dataFormat: "NHWC", dilations: d };
    await compare("Conv2D", { x, filter }, attrs, what);
    await compare("FusedConv2D", { x, filter, bias }, { ...attrs, activation: "relu" }, `${what} bias+relu`);
    await compare("FusedConv2D", { x, filter, bias }, { ...attrs, activation: "linear" }, `${what} bias`);
    await compare("FusedConv2D", { x, filter }, { ...attrs, activation: "relu" }, `${what} relu`);
  }
});

test("registering twice is harmless and unsupported configurations fall back", async (t) => {
  if (skipWhenAbsent(t, await absentReason())) return;
  const again = registerNativeKernels(2);
  assert.deepEqual(again, status);
  const x = random([2, 7, 6, 3]), filter = random([3, 3, 3, 4]), bias = random([4]);
  const attrs = { strides: 1, pad: "same", dataFormat: "NHWC", dilations: 1, activation: "sigmoid" };
  await compare("FusedConv2D", { x, filter, bias }, attrs, "FusedConv2D sigmoid (replaced kernel)");
  await compare("Cast", { x: random([5, 3]) }, { dtype: "int32" }, "Cast to int32 (replaced kernel)");
});

test("Conv2DBackpropInput and Conv2DBackpropFilter match cpu", async (t) => {
  if (skipWhenAbsent(t, await absentReason())) return;
  for (const [b, h, w, ci, co, k, s, pad] of CONV_CASES) {
    const what = `conv grad ${[b, h, w, ci, co, k, s, JSON.stringify(pad)].join(",")}`;
    const info = tf.backend_util.computeConv2DInfo([b, h, w, ci], [k, k, ci, co], s, 1, pad as "same");
    const x = random([b, h, w, ci]), filter = random([k, k, ci, co]), dy = random(info.outShape);
    const attrs = { strides: s, pad, dataFormat: "NHWC" };
    await compare("Conv2DBackpropInput", { dy, filter }, { ...attrs, inputShape: [b, h, w, ci] }, `${what} input`);
    await compare("Conv2DBackpropFilter", { x, dy }, { ...attrs, filterShape: [k, k, ci, co] }, `${what} filter`);
  }
});

test("BatchMatMul and _FusedMatMul match cpu (transposes, batch broadcast)", async (t) => {
  if (skipWhenAbsent(t, await absentReason())) return;
  // [batchA, batchB, m, k, n]
  const cases = [[1, 1, 5, 7, 3], [4, 4, 9, 6, 11], [3, 1, 48, 48, 48], [1, 2, 17, 33, 5], [2, 2, 1, 64, 130]];
  for (const [ba, bb, m, k, n] of cases)
    for (const transposeA of [false, true])
      for (const transposeB of [false, true]) {
        const a = random([ba, transposeA ? k : m, transposeA ? m : k]);
        const b = random([bb, transposeB ? n : k, transposeB ? k : n]);
        const what = `matmul ${[ba, bb, m, k, n].join(",")} tA=${transposeA} tB=${transposeB}`;
        await compare("BatchMatMul", { a, b }, { transposeA, transposeB }, what);
        if (ba === bb)
          await compare("_FusedMatMul", { a, b, bias: random([n]) }, { transposeA, transposeB, activation: "relu" },
            `${what} fused`);
      }
});

test("elementwise, reductions, concat and slicing match cpu", async (t) => {
  if (skipWhenAbsent(t, await absentReason())) return;
  const pairs = [[[2, 5, 7, 3], [2, 5, 7, 3]], [[2, 5, 7, 3], [3]], [[2, 1, 7, 1], [1, 5, 1, 4]], [[6], [1]], [[4, 1], [4, 9]],
    [[3, 4, 5, 1], [1]], [[3, 1, 5, 1], [3, 1, 5, 1]], [[1, 1], [1]]]; // the last: axes merged into one run
  for (const [sa, sb] of pairs)
    for (const k of ["Add", "Sub", "Multiply", "RealDiv"])
      await compare(k, { a: random(sa), b: random(sb) }, {}, `${k} ${sa}|${sb}`);
  await compare("Relu", { x: random([3, 7, 5, 2]) }, {}, "Relu");
  await compare("Step", { x: random([3, 7, 5, 2]) }, { alpha: 0 }, "Step");
  await compare("Step", { x: random([41]) }, { alpha: 0.25 }, "Step alpha");
  for (const perm of [[0, 3, 1, 2], [3, 2, 1, 0], [1, 0, 2, 3], [0, 1, 3, 2], [2, 0, 3, 1]])
    await compare("Transpose", { x: random([3, 5, 7, 4]) }, { perm }, `Transpose ${perm}`);
  await compare("Transpose", { x: random([64, 33]) }, { perm: [1, 0] }, "Transpose 2-D");
  // The tiled paths (a matrix, or a batch of them, after merging axes), with edges that are not whole tiles.
  for (const [shape, perm] of [[[3, 9, 5, 19], [3, 0, 1, 2]], [[19, 3, 9, 5], [1, 2, 3, 0]], [[2, 1, 17, 12], [0, 1, 3, 2]],
    [[4, 17, 12], [0, 2, 1]], [[3, 1, 8, 16], [3, 1, 0, 2]]] as [number[], number[]][])
    await compare("Transpose", { x: random(shape) }, { perm }, `Transpose ${shape} by ${perm}`);
  const x = random([3, 5, 7, 4]);
  for (const axis of [[0], [0, 1, 2], [3], [2, 3], [0, 1, 2, 3], [-1]])
    for (const keepDims of [false, true]) {
      await compare("Sum", { x }, { axis, keepDims }, `Sum ${axis} keep=${keepDims}`);
      await compare("Mean", { x }, { axis, keepDims }, `Mean ${axis} keep=${keepDims}`);
    }
  for (const axis of [0, 1, 2, 3, -1]) {
    const shapes = [[2, 3, 4, 5], [2, 3, 4, 5], [2, 3, 4, 5]].map((s, i) => s.map((d, j) => (j === (axis + 4) % 4 ? d + i : d)));
    const inputs = Object.fromEntries(shapes.map((s, i) => [String(i), random(s)]));
    await compare("Concat", inputs, { axis }, `Concat axis ${axis}`);
    await compare("SplitV", { x: random([6, 5, 7, 9]) }, { numOrSizeSplits: [1, 2, -1], axis: axis === 0 ? 0 : axis },
      `SplitV axis ${axis}`);
  }
  for (const [begin, size] of [[[0, 0, 0, 0], [-1, -1, -1, 2]], [[1, 2, 0, 1], [1, 3, -1, 2]], [[0, 1, 1, 0], [2, 2, 2, 4]]])
    await compare("Slice", { x }, { begin, size }, `Slice ${begin} ${size}`);
});

test("pooling and bilinear resizing match cpu", async (t) => {
  if (skipWhenAbsent(t, await absentReason())) return;
  // [batch, H, W, C, filter, stride, pad]
  const cases: [number, number, number, number, number, number, string][] = [
    [2, 8, 8, 3, 2, 2, "valid"], [1, 9, 7, 4, 3, 2, "same"], [2, 7, 7, 2, 3, 1, "same"], [1, 11, 9, 5, 2, 2, "same"],
    [2, 9, 7, 12, 2, 2, "valid"], // 2x2 windows that tile the input, odd sizes leaving a row and a column out
  ];
  for (const [b, h, w, c, f, s, pad] of cases) {
    const what = `pool ${[b, h, w, c, f, s, pad]}`;
    const attrs = { filterSize: f, strides: s, pad };
    const input = random([b, h, w, c]);
    await compare("MaxPool", { x: input }, attrs, `MaxPool ${what}`);
    const [output] = await runOn("cpu", "MaxPool", { x: input }, attrs);
    const dy = random(output.shape);
    await compare("MaxPoolGrad", { dy, input, output }, attrs, `MaxPoolGrad ${what}`);
    if (pad === "valid") await compare("AvgPoolGrad", { dy, input }, attrs, `AvgPoolGrad ${what}`);
  }
  {
    // Ties (values in {-1, 0, 1}): the first maximum in window order takes the gradient.
    const input = random([2, 6, 8, 16]);
    input.data.forEach((v, i) => (input.data[i] = Math.round(v)));
    const attrs = { filterSize: 2, strides: 2, pad: "valid" };
    const [output] = await runOn("cpu", "MaxPool", { x: input }, attrs);
    await compare("MaxPoolGrad", { dy: random(output.shape), input, output }, attrs, "MaxPoolGrad with ties");
  }
  const images = random([2, 6, 5, 3]);
  for (const [oh, ow] of [[12, 10], [3, 4], [11, 7]]) {
    for (const [alignCorners, halfPixelCenters] of [[false, false], [true, false], [false, true]]) {
      const attrs = { size: [oh, ow], alignCorners, halfPixelCenters };
      await compare("ResizeBilinear", { images }, attrs, `ResizeBilinear ${oh}x${ow} ${alignCorners} ${halfPixelCenters}`);
    }
    // tfjs's cpu gradient ignores half-pixel centres, so that case is checked as the adjoint of the cpu forward:
    // <resize(x), dy> == <x, grad(dy)> for random x, dy.
    for (const [alignCorners, halfPixelCenters] of [[false, false], [true, false], [false, true]]) {
      const attrs = { size: [oh, ow], alignCorners, halfPixelCenters };
      const dy = random([2, oh, ow, 3]);
      const [grad] = await runOn("wasm", "ResizeBilinearGrad", { images, dy }, attrs);
      if (!halfPixelCenters) {
        const [want] = await runOn("cpu", "ResizeBilinearGrad", { images, dy }, attrs);
        // (its output shape swaps H and W; the values are laid out as [B, H, W, C])
        assertClose(grad, { ...want, shape: images.shape }, `ResizeBilinearGrad ${oh}x${ow} ${alignCorners}`);
      }
      const [fwd] = await runOn("cpu", "ResizeBilinear", { images }, attrs);
      let lhs = 0, rhs = 0;
      fwd.data.forEach((v, i) => (lhs += v * dy.data[i]));
      images.data.forEach((v, i) => (rhs += v * grad.data[i]));
      assert.ok(Math.abs(lhs - rhs) <= 1e-4 * Math.max(1, Math.abs(lhs)), `ResizeBilinearGrad adjoint ${oh}x${ow} ${alignCorners} ${halfPixelCenters}: ${lhs} vs ${rhs}`);
    }
  }
});

test("finite-difference gradient check of a small conv net on native kernels", async (t) => {
  if (skipWhenAbsent(t, await absentReason())) return;
  await tf.setBackend("wasm");
  rngState = 777;
  const x = tf.tensor(random([2, 8, 8, 3]).data, [2, 8, 8, 3]) as tf.Tensor4D;
  const w1 = tf.tensor(random([3, 3, 3, 4], 0.5).data, [3, 3, 3, 4]) as tf.Tensor4D;
  const b1 = tf.tensor(random([4], 0.1).data, [4]) as tf.Tensor1D;
  const w2 = tf.tensor(random([3, 3, 4, 5], 0.5).data, [3, 3, 4, 5]) as tf.Tensor4D;
  const m = tf.tensor(random([5, 6], 0.5).data, [5, 6]) as tf.Tensor2D;
  // conv+bias (linear), max pool, strided conv, bilinear upsampling, matmul, product: every native kernel kind.
  const loss = (xx: tf.Tensor4D, a: tf.Tensor4D, bb: tf.Tensor1D, c: tf.Tensor4D, mm: tf.Tensor2D): tf.Scalar =>
    tf.tidy(() => {
      const h1 = tf.fused.conv2d({ x: xx, filter: a, bias: bb, strides: 1, pad: "same" });
      const p = tf.maxPool(tf.mul(h1, h1) as tf.Tensor4D, 2, 2, "valid");
      const h2 = tf.conv2d(p, c, 2, "same");
      const up = tf.image.resizeBilinear(h2, [4, 4], false, true);
      const z = tf.matMul(tf.reshape(up, [-1, 5]), mm);
      return tf.mean(tf.mul(z, tf.add(z, 0.5)));
    });
  const params = [x, w1, b1, w2, m] as tf.Tensor[];
  const grads = tf.grads((...ps: tf.Tensor[]) => loss(...(ps as [tf.Tensor4D, tf.Tensor4D, tf.Tensor1D, tf.Tensor4D, tf.Tensor2D])))(params);
  const eps = 1e-3;
  let checked = 0, kinks = 0;
  for (let p = 0; p < params.length; p++) {
    const base = params[p].dataSync() as Float32Array;
    const g = grads[p].dataSync() as Float32Array;
    const at = (i: number, delta: number): number => {
      const v = base.slice();
      v[i] += delta;
      const moved = tf.tensor(v, params[p].shape);
      const args = params.map((q, k) => (k === p ? moved : q));
      const l = loss(...(args as [tf.Tensor4D, tf.Tensor4D, tf.Tensor1D, tf.Tensor4D, tf.Tensor2D]));
      const r = l.dataSync()[0];
      tf.dispose([moved, l]);
      return r;
    };
    for (let j = 0; j < 6; j++) {
      const i = Math.floor((j * 7919 + p * 104729) % base.length);
      const fd = (at(i, eps) - at(i, -eps)) / (2 * eps);
      const half = (at(i, eps / 2) - at(i, -eps / 2)) / eps;
      // A max-pool winner that changes within +-eps puts a kink there: the difference quotients at eps and
      // eps/2 then disagree (on a smooth loss they differ by O(eps^2)) and there is no derivative to compare.
      if (Math.abs(fd - half) > 3e-3 * Math.max(Math.abs(fd), Math.abs(half)) + 5e-4) {
        kinks++;
        continue;
      }
      // float32 loss: the difference quotient carries about 1e-4 of rounding noise.
      assert.ok(Math.abs(fd - g[i]) <= 5e-3 * Math.max(Math.abs(fd), Math.abs(g[i])) + 5e-4,
        `param ${p} index ${i}: analytic ${g[i]} vs finite difference ${fd}`);
      checked++;
    }
  }
  assert.ok(kinks <= 4, `${kinks} of 30 coordinates sit on max-pool kinks`);
  assert.equal(checked + kinks, 30);
  tf.dispose([...params, ...grads]);
});
