// The project's wasm training kernels against the cpu backend (and, for the resize gradient, against an
// independent float64 reference) on random inputs over a spread of shapes.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initEngine } from "../../lib/engine";
import { randomValues, runOn, scaledError, size } from "./helpers";

const TOL = 1e-4; // max abs error relative to max |reference|

before(async () => {
  // The project's wasm kernels themselves, not native replacements.
  process.env.SAMFEAT_NATIVE = "0";
  await initEngine({ backend: "wasm", quiet: true });
});

type Pad = "same" | "valid" | [[number, number], [number, number], [number, number], [number, number]];
interface ConvCase {
  x: [number, number, number, number];
  k: number;
  co: number;
  stride: number | [number, number];
  pad: Pad;
}

const CONV_CASES: ConvCase[] = [
  { x: [1, 7, 5, 3], k: 3, co: 4, stride: 1, pad: "same" },
  { x: [2, 9, 8, 5], k: 3, co: 6, stride: 2, pad: "same" },
  { x: [2, 8, 8, 5], k: 3, co: 6, stride: 2, pad: "same" },
  { x: [3, 9, 11, 2], k: 3, co: 3, stride: 2, pad: "valid" },
  { x: [1, 10, 7, 3], k: 3, co: 2, stride: 1, pad: "valid" },
  { x: [2, 10, 7, 4], k: 1, co: 2, stride: 1, pad: "valid" },
  { x: [2, 11, 7, 4], k: 1, co: 5, stride: 2, pad: "same" },
  { x: [1, 13, 12, 3], k: 4, co: 5, stride: 3, pad: "same" },
  { x: [2, 6, 7, 4], k: 3, co: 2, stride: 1, pad: [[0, 0], [2, 0], [1, 3], [0, 0]] },
  { x: [2, 16, 16, 8], k: 3, co: 16, stride: 2, pad: "same" },
  { x: [1, 11, 9, 3], k: 5, co: 4, stride: 2, pad: "same" },
  { x: [2, 9, 10, 3], k: 3, co: 2, stride: [2, 1], pad: "same" },
  { x: [2, 7, 7, 2], k: 2, co: 3, stride: 3, pad: "valid" }, // kernel smaller than the stride
  { x: [1, 8, 9, 2], k: 3, co: 3, stride: 1, pad: [[0, 0], [3, 1], [0, 4], [0, 0]] }, // padding beyond the kernel
  { x: [2, 12, 10, 16], k: 3, co: 1, stride: 1, pad: "same" }, // a detector head: x and dy swap roles
  { x: [1, 101, 100, 2], k: 3, co: 5, stride: 1, pad: "same" }, // a dy plane cut into bands of rows
  { x: [1, 201, 190, 2], k: 3, co: 5, stride: 2, pad: "valid" }, // bands, strided
  { x: [1, 9, 8, 6], k: 3, co: 2, stride: 1, pad: [[0, 0], [0, 2], [1, 0], [0, 0]] }, // swapped, uneven padding
];

function label(c: ConvCase): string {
  return `${c.x.join("x")} ${c.k}x${c.k}->${c.co} stride ${c.stride} pad ${JSON.stringify(c.pad)}`;
}

test("Conv2DBackpropInput and Conv2DBackpropFilter match cpu", async () => {
  for (const [n, c] of CONV_CASES.entries()) {
    const fShape: [number, number, number, number] = [c.k, c.k, c.x[3], c.co];
    const xv = randomValues(size(c.x), 11 + n);
    const fv = randomValues(size(fShape), 101 + n);
    const grads = () => {
      const x = tf.tensor4d(xv, c.x);
      const f = tf.tensor4d(fv, fShape);
      const conv = (a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad);
      const y = conv(x, f);
      const dy = tf.tensor(randomValues(y.size, 1001 + n), y.shape);
      const [dx, df] = tf.grads(conv)([x, f], dy);
      // The kernels directly, too, as the gradient would call them.
      const dx2 = tf.conv2dTranspose(dy as tf.Tensor4D, f, c.x, c.stride, c.pad);
      return [dx, df, dx2];
    };
    const ref = await runOn("cpu", grads);
    const got = await runOn("wasm", grads);
    for (const [i, name] of ["input gradient", "filter gradient", "conv2dTranspose"].entries()) {
      assert.deepEqual(got[i].shape, ref[i].shape, `${name} shape, ${label(c)}`);
      const err = scaledError(got[i].values, ref[i].values);
      assert.ok(err < TOL, `${name} error ${err.toExponential(2)} for ${label(c)}`);
    }
  }
});

test("MaxPoolGrad matches cpu, including tied maxima (first one wins) and padding", async () => {
  const cases: { x: [number, number, number, number]; k: number; s: number; pad: "same" | "valid"; ties: boolean }[] = [
    { x: [2, 8, 8, 3], k: 2, s: 2, pad: "same", ties: false },
    { x: [2, 9, 7, 3], k: 2, s: 2, pad: "same", ties: false },
    { x: [1, 9, 7, 4], k: 2, s: 2, pad: "valid", ties: false },
    { x: [3, 10, 12, 2], k: 2, s: 2, pad: "same", ties: true },
    { x: [1, 10, 11, 2], k: 3, s: 3, pad: "same", ties: true },
    { x: [2, 9, 9, 3], k: 3, s: 2, pad: "same", ties: false }, // overlapping windows
    { x: [1, 8, 7, 2], k: 3, s: 2, pad: "valid", ties: true },
    { x: [2, 6, 6, 2], k: 2, s: 1, pad: "same", ties: false },
  ];
  for (const [n, c] of cases.entries()) {
    let xv = randomValues(size(c.x), 7 + n);
    // Quantised values tie within windows; the others keep windows whose values are all negative.
    if (c.ties) xv = xv.map((v) => Math.round(v * 2));
    const grad = () => {
      const x = tf.tensor4d(xv, c.x);
      const pool = (a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, c.k, c.s, c.pad);
      const y = pool(x);
      const dy = tf.tensor(randomValues(y.size, 77 + n), y.shape);
      return [tf.grad(pool)(x, dy)];
    };
    const ref = await runOn("cpu", grad);
    const got = await runOn("wasm", grad);
    const err = scaledError(got[0].values, ref[0].values);
    assert.ok(err < TOL, `error ${err.toExponential(2)} for ${JSON.stringify(c)}`);
  }
});

/** PyTorch's F.interpolate(bilinear, align_corners=False) weights, written out independently, in float64. */
function torchWeights(inSize: number, outSize: number): Float64Array {
  const m = new Float64Array(outSize * inSize);
  for (let o = 0; o < outSize; o++) {
    const src = Math.max(0, ((o + 0.5) * inSize) / outSize - 0.5);
    const i0 = Math.floor(src);
    const i1 = Math.min(i0 + 1, inSize - 1);
    const l = src - i0;
    m[o * inSize + i0] += 1 - l;
    m[o * inSize + i1] += l;
  }
  return m;
}

test("ResizeBilinearGrad with half-pixel centres equals the exact adjoint (float64 reference)", async () => {
  const cases: [number, number, number, number, number, number][] = [
    // [B, H, W, C, outH, outW]
    [2, 16, 12, 3, 4, 3], // shrink x4 (trunk c1 -> s4)
    [2, 8, 6, 5, 4, 3], // shrink x2
    [1, 4, 3, 4, 8, 6], // grow x2 (c4 -> s4)
    [2, 3, 2, 1, 24, 16], // grow x8 (detector heads)
    [1, 7, 5, 2, 10, 13], // arbitrary sizes
    [2, 5, 9, 3, 5, 9], // same size
  ];
  for (const [n, [b, h, w, c, oh, ow]] of cases.entries()) {
    const dyv = randomValues(b * oh * ow * c, 500 + n);
    const grad = () => {
      const x = tf.tensor4d(randomValues(b * h * w * c, 400 + n), [b, h, w, c]);
      const dy = tf.tensor4d(dyv, [b, oh, ow, c]);
      return [tf.grad((a: tf.Tensor) => tf.image.resizeBilinear(a as tf.Tensor4D, [oh, ow], false, true))(x, dy)];
    };
    const rh = torchWeights(h, oh);
    const rw = torchWeights(w, ow);
    const ref = new Float64Array(b * h * w * c);
    for (let bi = 0; bi < b; bi++)
      for (let o = 0; o < oh; o++)
        for (let p = 0; p < ow; p++)
          for (let ch = 0; ch < c; ch++) {
            const g = dyv[((bi * oh + o) * ow + p) * c + ch];
            for (let i = 0; i < h; i++) {
              const wi = rh[o * h + i];
              if (wi === 0) continue;
              for (let j = 0; j < w; j++) ref[((bi * h + i) * w + j) * c + ch] += g * wi * rw[p * w + j];
            }
          }
    for (const backend of ["wasm", "cpu"] as const) {
      const [got] = await runOn(backend, grad);
      assert.deepEqual(got.shape, [b, h, w, c], `${backend} shape`);
      const err = scaledError(got.values, ref);
      assert.ok(err < TOL, `${backend}: error ${err.toExponential(2)} for ${[b, h, w, c]} -> ${oh}x${ow}`);
    }
  }
});

test("ResizeBilinearGrad (legacy and align-corners sampling) is the adjoint of the wasm forward resize", async () => {
  // <resize(x), dy> = <x, grad(dy)> for any x, dy: the forward kernel is upstream's, the gradient ours.
  for (const [n, [h, w, oh, ow, alignCorners]] of ([
    [7, 9, 13, 4, false],
    [7, 9, 13, 4, true],
    [12, 8, 6, 4, false],
    [5, 6, 11, 17, true],
  ] as [number, number, number, number, boolean][]).entries()) {
    const [lhs, rhs] = await runOn("wasm", () => {
      const x = tf.tensor4d(randomValues(2 * h * w * 3, 900 + n), [2, h, w, 3]);
      const dy = tf.tensor4d(randomValues(2 * oh * ow * 3, 950 + n), [2, oh, ow, 3]);
      const resize = (a: tf.Tensor) => tf.image.resizeBilinear(a as tf.Tensor4D, [oh, ow], alignCorners, false);
      return [tf.sum(tf.mul(resize(x), dy)), tf.sum(tf.mul(x, tf.grad(resize)(x, dy)))];
    });
    const scale = Math.max(1, Math.abs(lhs.values[0]));
    assert.ok(Math.abs(lhs.values[0] - rhs.values[0]) < 1e-5 * scale, `${[h, w, oh, ow, alignCorners]}: ${lhs.values[0]} vs ${rhs.values[0]}`);
  }
});

test("BatchMatMul with transposed operands, and its gradients, match cpu", async () => {
  for (const [n, [batch, m, k, p]] of [
    [1, 5, 7, 3],
    [6, 9, 4, 9],
    [3, 12, 12, 12],
  ].entries()) {
    for (const [ta, tb] of [
      [false, false],
      [false, true],
      [true, false],
      [true, true],
    ]) {
      const aShape = ta ? [batch, k, m] : [batch, m, k];
      const bShape = tb ? [batch, p, k] : [batch, k, p];
      const av = randomValues(size(aShape), 60 + n);
      const bv = randomValues(size(bShape), 70 + n);
      const run = () => {
        const a = tf.tensor3d(av, aShape as [number, number, number]);
        const b = tf.tensor3d(bv, bShape as [number, number, number]);
        const mm = (x: tf.Tensor, y: tf.Tensor) => tf.matMul(x as tf.Tensor3D, y as tf.Tensor3D, ta, tb);
        const dy = tf.tensor3d(randomValues(batch * m * p, 80 + n), [batch, m, p]);
        return [mm(a, b), ...tf.grads(mm)([a, b], dy)];
      };
      const ref = await runOn("cpu", run);
      const got = await runOn("wasm", run);
      for (let i = 0; i < 3; i++) {
        const err = scaledError(got[i].values, ref[i].values);
        assert.ok(err < TOL, `output ${i} error ${err.toExponential(2)}, ${[batch, m, k, p]} transposeA=${ta} transposeB=${tb}`);
      }
    }
  }
});

test("Sum over leading axes (pooled), Slice and SplitV (runs) match cpu; other cases reach upstream", async () => {
  const sums: [number[], number | number[], boolean][] = [
    [[2, 9, 8, 5], [0, 1, 2], false], [[3, 7, 4], [0, 1], true], [[6, 1], [0], false], [[2, 5, 6, 1], [-4, -3, -2], false],
    [[64, 48, 3], [0, 1], false], // long runs: 3072 values per column
    [[2, 9, 8, 5], [1, 2], false], [[2, 9, 8, 5], [3], true], [[4, 6], [1], false], // upstream
  ];
  for (const [n, [shape, axis, keepDims]] of sums.entries()) {
    const v = randomValues(size(shape), 300 + n);
    const f = () => [tf.sum(tf.tensor(v, shape), axis, keepDims)];
    const [ref] = await runOn("cpu", f);
    const [got] = await runOn("wasm", f);
    assert.deepEqual(got.shape, ref.shape, `Sum ${shape} over ${axis}`);
    assert.ok(scaledError(got.values, ref.values) < TOL, `Sum ${shape} over ${axis}: error ${scaledError(got.values, ref.values)}`);
  }
  const slices: [number[], number[], number[]][] = [
    [[8, 12, 10, 4], [0, 1, 1, 0], [-1, 11, 9, -1]], // the stride-4 downsampling's crop
    [[3, 5, 7, 4], [1, 2, 0, 1], [2, 3, 7, 2]], [[3, 5, 7, 4], [0, 0, 0, 0], [3, 5, 7, 4]], [[3, 5, 7, 4], [2, 0, 0, 0], [1, -1, -1, -1]],
    [[10], [3], [4]], [[2, 3, 4, 5, 6], [1, 0, 2, 1, 3], [1, 3, 2, 3, 2]], [[4, 5], [1, 2], [0, 3]],
  ];
  for (const [n, [shape, begin, sz]] of slices.entries()) {
    const v = randomValues(size(shape), 400 + n);
    const f = () => [tf.slice(tf.tensor(v, shape), begin, sz), tf.slice(tf.tensor(v, shape, "int32"), begin, sz)];
    const ref = await runOn("cpu", f);
    const got = await runOn("wasm", f);
    for (const i of [0, 1]) {
      assert.deepEqual(got[i].shape, ref[i].shape, `Slice ${shape} at ${begin} size ${sz}`);
      assert.deepEqual(Array.from(got[i].values), Array.from(ref[i].values), `Slice ${shape} at ${begin} size ${sz}`);
    }
  }
  for (const [n, [shape, parts, axis]] of ([[[2, 3, 4, 10], [1, 2, 3, 4], 3], [[2, 6, 4, 5], 3, 1], [[7, 3], [2, 5], 0]] as [number[], number[] | number, number][]).entries()) {
    const v = randomValues(size(shape), 500 + n);
    const f = () => tf.split(tf.tensor(v, shape), parts, axis);
    const ref = await runOn("cpu", f);
    const got = await runOn("wasm", f);
    assert.equal(got.length, ref.length);
    got.forEach((g, i) => assert.deepEqual(Array.from(g.values), Array.from(ref[i].values), `split ${shape} by ${parts} on ${axis}, part ${i}`));
  }
});

test("AvgPoolGrad matches cpu: strided, overlapping and padded windows", async () => {
  const cases: { x: [number, number, number, number]; k: number; s: number; pad: "same" | "valid" }[] = [
    { x: [2, 11, 11, 3], k: 2, s: 4, pad: "valid" }, // the stride-4 downsampling: windows with gaps between
    { x: [1, 9, 7, 4], k: 3, s: 2, pad: "same" }, // overlapping, padded
    { x: [2, 7, 9, 2], k: 2, s: 2, pad: "valid" }, // a row and a column left out
  ];
  for (const [n, c] of cases.entries()) {
    const xv = randomValues(size(c.x), 600 + n);
    const grad = () => {
      const x = tf.tensor4d(xv, c.x);
      const pool = (a: tf.Tensor) => tf.avgPool(a as tf.Tensor4D, c.k, c.s, c.pad);
      const y = pool(x);
      return tf.grads(pool)([x], tf.tensor(randomValues(y.size, 700 + n), y.shape));
    };
    const [ref] = await runOn("cpu", grad);
    const [got] = await runOn("wasm", grad);
    const err = scaledError(got.values, ref.values);
    assert.ok(err < TOL, `AvgPoolGrad ${JSON.stringify(c)}: error ${err}`);
  }
});

test("Identity and same-dtype Cast share memory instead of copying, safely", async () => {
  await tf.setBackend("wasm");
  const heapOffset = (t: tf.Tensor) => (tf.backend() as unknown as { dataIdMap: { get(id: object): { memoryOffset: number } } }).dataIdMap.get(t.dataId).memoryOffset;
  const a = tf.fill([8, 8], 3);
  const [b, c] = [a.clone(), tf.cast(a, "float32")];
  assert.equal(heapOffset(b), heapOffset(a), "clone copied the data");
  assert.equal(heapOffset(c), heapOffset(a), "same-dtype cast copied the data");
  tf.dispose([a, b, c]);
  const before = tf.memory().numTensors;
  // Clones and casts of clones, disposed in a scrambled order while new tensors are allocated: a block freed
  // too early would be handed out again and overwrite a live tensor.
  const live: { t: tf.Tensor; value: number }[] = [];
  for (let i = 0; i < 200; i++) {
    const pick = live.length ? live[(i * 7919) % live.length] : undefined;
    const t2 = i % 3 === 0 || !pick ? tf.fill([64, 33], i) : i % 3 === 1 ? pick.t.clone() : tf.cast(pick.t, "float32");
    live.push({ t: t2, value: i % 3 === 0 || !pick ? i : pick.value });
    if (i % 4 === 3) live.splice((i * 104729) % live.length, 1)[0].t.dispose();
  }
  for (const { t: x, value } of live) {
    const v = x.dataSync();
    assert.ok(v.every((e) => e === value), `tensor expected to hold ${value}`);
  }
  live.forEach(({ t: x }) => x.dispose());
  assert.equal(tf.memory().numTensors, before);
  const int = tf.tensor([1.7, -2.2, 3.9]).cast("int32");
  assert.deepEqual([...int.dataSync()], [1, -2, 3]);
  int.dispose();
});

test("the kernels leave no tensors or wasm data behind", async () => {
  await tf.setBackend("wasm");
  const step = () =>
    tf.tidy(() => {
      const x = tf.tensor4d(randomValues(2 * 9 * 8 * 4, 1), [2, 9, 8, 4]);
      const f = tf.tensor4d(randomValues(3 * 3 * 4 * 6, 2), [3, 3, 4, 6]);
      const loss = (a: tf.Tensor, b: tf.Tensor) => {
        const y = tf.maxPool(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, "same"), 2, 2, "same");
        const z = tf.image.resizeBilinear(tf.slice(y, [0, 1, 0, 0], [-1, -1, 1, -1]), [7, 5], false, true);
        return tf.add(tf.sum(z), tf.sum(tf.sum(z, [0, 1, 2])));
      };
      return tf.grads(loss)([x, f]);
    });
  tf.dispose(step());
  const backend = tf.backend() as unknown as { numDataIds(): number };
  const tensors = tf.memory().numTensors;
  const dataIds = backend.numDataIds();
  for (let i = 0; i < 3; i++) tf.dispose(step());
  assert.equal(tf.memory().numTensors, tensors);
  assert.equal(backend.numDataIds(), dataIds);
});
