// Native (C++, AVX2/FMA; OpenBLAS GEMMs, oneDNN convolutions when built with it) kernels for the tfjs "wasm" backend.
//
// The addon (native/, built at install by scripts/build-native.cjs) reads and writes tensors where the wasm
// backend keeps them: each kernel passes the module's heap plus byte offsets, so activations never travel
// through JavaScript arrays. Anything a native kernel does not cover (other dtypes, NCHW, activations other
// than linear/relu, ...) falls through to the kernel it replaced.
import * as fs from "fs";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { projectPath } from "../util/project";

export interface NativeStatus {
  loaded: boolean;
  reason: string; // why the kernels are off ("" when loaded)
  threads: number; // threads the native kernels run on (0 when not loaded)
  convolutions: string; // what runs the convolutions: "oneDNN" or "im2col + OpenBLAS" ("" when not loaded)
}

const ADDON_FILE = projectPath("native", "build", "Release", "samfeat_native.node");
const STATUS_FILE = projectPath("native", "build", "status.json");

type Ints = number[];
interface Addon {
  init(): { ok: boolean; reason: string; convolutions: string };
  setThreads(threads: number): number;
  conv2d(heap: Uint8Array, x: number, w: number, bias: number, y: number, shape: Ints, activation: number): void;
  conv2dBackpropInput(heap: Uint8Array, dy: number, w: number, dx: number, shape: Ints): void;
  conv2dBackpropFilter(heap: Uint8Array, x: number, dy: number, dw: number, shape: Ints): void;
  batchMatMul(heap: Uint8Array, a: number, b: number, bias: number, c: number, dims: Ints): void;
  relu(heap: Uint8Array, x: number, y: number, n: number): void;
  step(heap: Uint8Array, x: number, y: number, n: number, alpha: number): void;
  transpose(heap: Uint8Array, x: number, out: number, shape: Ints, perm: Ints): void;
  binary(heap: Uint8Array, a: number, b: number, out: number, op: number, shape: Ints, sa: Ints, sb: Ints): void;
  sumRows(heap: Uint8Array, x: number, out: number, outer: number, inner: number): void;
  sumCols(heap: Uint8Array, x: number, out: number, outer: number, inner: number, scale: number): void;
  maxPool(heap: Uint8Array, x: number, y: number, shape: Ints): void;
  maxPoolGrad(heap: Uint8Array, dy: number, x: number, dx: number, shape: Ints): void;
  avgPoolGrad(heap: Uint8Array, dy: number, dx: number, shape: Ints): void;
  slice(heap: Uint8Array, x: number, out: number, shape: Ints, begin: Ints, size: Ints): void;
  resizeBilinear(heap: Uint8Array, x: number, y: number, dims: Ints): void;
  resizeBilinearGrad(heap: Uint8Array, dy: number, dx: number, dims: Ints): void;
  concat(heap: Uint8Array, offsets: Ints, inner: Ints, out: number, outer: number): void;
}

let addon: Addon | undefined;
let convolutions = "";
let configs: tf.KernelConfig[] | undefined;
// The kernels ours replaced, for fallback and for unregisterNativeKernels.
const replaced = new Map<string, tf.KernelConfig | undefined>();
const ours = new Map<string, tf.KernelFunc>();

/** Why the addon is absent, as recorded by scripts/build-native.cjs. */
function buildReason(): string {
  try {
    const s = JSON.parse(fs.readFileSync(STATUS_FILE, "utf8")) as { built?: boolean; reason?: string };
    if (s.reason) return s.reason;
  } catch {
    // no status file: the build script never ran
  }
  return "run `node scripts/build-native.cjs`";
}

function loadAddon(): Addon | string {
  if (addon) return addon;
  if (!fs.existsSync(ADDON_FILE)) return `native addon not built: ${buildReason()}`;
  // oneDNN's OpenMP threads would otherwise spin after each convolution, taking the cores the pool's threads
  // need next. libgomp reads this when the addon (which links it) is loaded.
  process.env.OMP_WAIT_POLICY ??= "PASSIVE";
  let a: Addon;
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    a = require(ADDON_FILE) as Addon;
  } catch (e) {
    return `native addon failed to load: ${(e as Error).message.split("\n")[0]}`;
  }
  const init = a.init();
  if (!init.ok) return `${init.reason} (the native kernels need AVX2 and FMA)`;
  addon = a;
  convolutions = init.convolutions;
  return a;
}

/**
 * Loads the addon and registers its kernels for the "wasm" backend, replacing the kernels of the same name.
 * `threads` is the size of the addon's thread pool, which also splits every GEMM (OpenBLAS itself runs
 * single-threaded inside each part); call again to change it. Never throws.
 */
export function registerNativeKernels(threads: number): NativeStatus {
  try {
    const a = loadAddon();
    if (typeof a === "string") return { loaded: false, reason: a, threads: 0, convolutions: "" };
    const n = a.setThreads(Math.max(1, Math.floor(Number.isFinite(threads) ? threads : 1)));
    configs ??= kernels(a);
    for (const k of configs) {
      const current = tf.getKernel(k.kernelName, "wasm");
      if (current?.kernelFunc === k.kernelFunc) continue;
      replaced.set(k.kernelName, current);
      if (current) tf.unregisterKernel(k.kernelName, "wasm");
      tf.registerKernel(k);
    }
    return { loaded: true, reason: "", threads: n, convolutions };
  } catch (e) {
    return { loaded: false, reason: `native kernels failed to register: ${(e as Error).message}`, threads: 0, convolutions: "" };
  }
}

/** Puts back the kernels registerNativeKernels replaced (used to compare engines side by side). */
export function unregisterNativeKernels(): void {
  for (const [name, prev] of replaced) {
    const current = tf.getKernel(name, "wasm");
    if (current && current.kernelFunc === ours.get(name)) tf.unregisterKernel(name, "wasm");
    if (prev && !tf.getKernel(name, "wasm")) tf.registerKernel(prev);
  }
  replaced.clear();
}

// ---------------------------------------------------------------------------------------------------------------

type Args = Parameters<tf.KernelFunc>[0];

function wasmOf(args: Args): BackendWasm {
  return args.backend as unknown as BackendWasm;
}

// Re-read on every call: the heap's buffer is replaced whenever wasm memory grows (e.g. in makeOutput).
function heap(b: BackendWasm): Uint8Array {
  return (b.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8;
}

function offset(b: BackendWasm, t: tf.TensorInfo): number {
  return b.dataIdMap.get(t.dataId)!.memoryOffset;
}

function allFloat(...ts: (tf.TensorInfo | undefined)[]): boolean {
  return ts.every((t) => t === undefined || t.dtype === "float32");
}

function fallback(name: string, args: Args, why: string): tf.TensorInfo | tf.TensorInfo[] {
  const prev = replaced.get(name);
  if (!prev) throw new Error(`lib/engine/native.ts: ${name} on wasm: ${why}, and no other kernel is registered`);
  return prev.kernelFunc(args);
}

const size = (shape: number[]): number => shape.reduce((p, d) => p * d, 1);

function convShape(c: tf.backend_util.Conv2DInfo): Ints {
  return [
    c.batchSize, c.inHeight, c.inWidth, c.inChannels, c.outHeight, c.outWidth, c.outChannels,
    c.filterHeight, c.filterWidth, c.strideHeight, c.strideWidth, c.dilationHeight, c.dilationWidth,
    c.padInfo.top, c.padInfo.left,
  ];
}

const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1 };

/** Output strides of `shape` broadcast (numpy rules) to `out`: 0 along broadcast axes. */
function broadcastStrides(shape: number[], out: number[]): Ints {
  const strides = new Array<number>(out.length).fill(0);
  let stride = 1;
  for (let i = shape.length - 1, j = out.length - 1; i >= 0; i--, j--) {
    strides[j] = shape[i] === 1 && out[j] !== 1 ? 0 : stride;
    stride *= shape[i];
  }
  return strides;
}

/**
 * The same elementwise walk over fewer axes: size-1 axes dropped, and each axis merged into the next
 * where both operands step through it as one run. The kernel loops over the last axis, so
 * [B,H,W,1] * [1] becomes one run of B*H*W instead of B*H*W runs of one.
 */
function mergeAxes(shape: number[], sa: Ints, sb: Ints): [Ints, Ints, Ints] {
  const outShape: Ints = [], outA: Ints = [], outB: Ints = [];
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && outA[last] === sa[d] * shape[d] && outB[last] === sb[d] * shape[d]) {
      outShape[last] *= shape[d];
      outA[last] = sa[d];
      outB[last] = sb[d];
    } else {
      outShape.push(shape[d]);
      outA.push(sa[d]);
      outB.push(sb[d]);
    }
  }
  return outShape.length > 0 ? [outShape, outA, outB] : [[1], [0], [0]];
}

function broadcastShape(a: number[], b: number[]): number[] | undefined {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return undefined;
    out.push(da === 1 ? db : da);
  }
  return out;
}

function kernels(a: Addon): tf.KernelConfig[] {
  const list: tf.KernelConfig[] = [];
  const add = (kernelName: string, fn: (args: Args) => tf.TensorInfo | tf.TensorInfo[]): void => {
    const kernelFunc = fn as tf.KernelFunc;
    ours.set(kernelName, kernelFunc);
    list.push({ kernelName, backendName: "wasm", kernelFunc });
  };

  const conv = (name: string, args: Args): tf.TensorInfo | tf.TensorInfo[] => {
    const b = wasmOf(args);
    const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
    const at = args.attrs as unknown as tf.FusedConv2DAttrs;
    const activation = at.activation ?? "linear";
    if (!x || !filter) return fallback(name, args, "missing inputs");
    if (!allFloat(x, filter, bias) || preluActivationWeights || !(activation in ACTIVATIONS) || at.dataFormat === "NCHW")
      return fallback(name, args, "unsupported configuration");
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number], filter.shape as [number, number, number, number],
      at.strides, at.dilations ?? 1, at.pad, at.dimRoundingMode);
    if (bias && size(bias.shape) !== info.outChannels) return fallback(name, args, "bias does not match channels");
    const out = b.makeOutput(info.outShape, "float32");
    a.conv2d(heap(b), offset(b, x), offset(b, filter), bias ? offset(b, bias) : -1, offset(b, out),
      convShape(info), ACTIVATIONS[activation]);
    return out;
  };
  add("Conv2D", (args) => conv("Conv2D", args));
  add("FusedConv2D", (args) => conv("FusedConv2D", args));

  add("Conv2DBackpropInput", (args) => {
    const b = wasmOf(args);
    const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const at = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
    if (!allFloat(dy, filter) || at.dataFormat === "NCHW")
      return fallback("Conv2DBackpropInput", args, "unsupported configuration");
    const info = tf.backend_util.computeConv2DInfo(
      at.inputShape, filter.shape as [number, number, number, number], at.strides, 1, at.pad, at.dimRoundingMode);
    const dx = b.makeOutput(at.inputShape, "float32");
    a.conv2dBackpropInput(heap(b), offset(b, dy), offset(b, filter), offset(b, dx), convShape(info));
    return dx;
  });

  add("Conv2DBackpropFilter", (args) => {
    const b = wasmOf(args);
    const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const at = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    if (!allFloat(x, dy) || at.dataFormat === "NCHW")
      return fallback("Conv2DBackpropFilter", args, "unsupported configuration");
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number], at.filterShape, at.strides, 1, at.pad, at.dimRoundingMode);
    const dw = b.makeOutput(at.filterShape, "float32");
    a.conv2dBackpropFilter(heap(b), offset(b, x), offset(b, dy), offset(b, dw), convShape(info));
    return dw;
  });

  const matmul = (name: string, args: Args): tf.TensorInfo | tf.TensorInfo[] => {
    const b = wasmOf(args);
    const { a: A, b: B, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
    const at = args.attrs as unknown as tf._FusedMatMulAttrs;
    const activation = at.activation ?? "linear";
    if (!A || !B) return fallback(name, args, "missing inputs");
    if (!allFloat(A, B, bias) || preluActivationWeights || !(activation in ACTIVATIONS) || A.shape.length < 2 ||
      B.shape.length < 2)
      return fallback(name, args, "unsupported configuration");
    const ra = A.shape.length, rb = B.shape.length;
    const m = at.transposeA ? A.shape[ra - 1] : A.shape[ra - 2];
    const k = at.transposeA ? A.shape[ra - 2] : A.shape[ra - 1];
    const kb = at.transposeB ? B.shape[rb - 1] : B.shape[rb - 2];
    const n = at.transposeB ? B.shape[rb - 2] : B.shape[rb - 1];
    const outerA = A.shape.slice(0, -2), outerB = B.shape.slice(0, -2);
    const outer = broadcastShape(outerA, outerB);
    if (k !== kb || !outer) return fallback(name, args, "incompatible shapes");
    const batch = size(outer), batchA = size(outerA), batchB = size(outerB);
    if ((batchA !== 1 && batchA !== batch) || (batchB !== 1 && batchB !== batch))
      return fallback(name, args, "partial batch broadcasting");
    if (bias && size(bias.shape) !== n) return fallback(name, args, "bias is not a row vector");
    const out = b.makeOutput([...outer, m, n], "float32");
    a.batchMatMul(heap(b), offset(b, A), offset(b, B), bias ? offset(b, bias) : -1, offset(b, out),
      [batch, batchA, batchB, m, n, k, at.transposeA ? 1 : 0, at.transposeB ? 1 : 0, ACTIVATIONS[activation]]);
    return out;
  };
  add("BatchMatMul", (args) => matmul("BatchMatMul", args));
  add("_FusedMatMul", (args) => matmul("_FusedMatMul", args));

  add("Relu", (args) => {
    const b = wasmOf(args);
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (!allFloat(x)) return fallback("Relu", args, "not float32");
    const y = b.makeOutput(x.shape, "float32");
    a.relu(heap(b), offset(b, x), offset(b, y), size(x.shape));
    return y;
  });

  add("Step", (args) => {
    const b = wasmOf(args);
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { alpha } = args.attrs as unknown as tf.StepAttrs;
    if (!allFloat(x)) return fallback("Step", args, "not float32");
    const y = b.makeOutput(x.shape, "float32");
    a.step(heap(b), offset(b, x), offset(b, y), size(x.shape), alpha ?? 0);
    return y;
  });

  add("Transpose", (args) => {
    const b = wasmOf(args);
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { perm } = args.attrs as unknown as tf.TransposeAttrs;
    if (!allFloat(x) || x.shape.length > 6) return fallback("Transpose", args, "unsupported input");
    const out = b.makeOutput(perm.map((d) => x.shape[d]), "float32");
    a.transpose(heap(b), offset(b, x), offset(b, out), x.shape, perm);
    return out;
  });

  const binary = (name: string, op: number) => (args: Args) => {
    const b = wasmOf(args);
    const { a: A, b: B } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const shape = broadcastShape(A.shape, B.shape);
    if (!allFloat(A, B) || !shape) return fallback(name, args, "unsupported configuration");
    const out = b.makeOutput(shape, "float32");
    const merged = mergeAxes(shape, broadcastStrides(A.shape, shape), broadcastStrides(B.shape, shape));
    a.binary(heap(b), offset(b, A), offset(b, B), offset(b, out), op, ...merged);
    return out;
  };
  add("Add", binary("Add", 0));
  add("Sub", binary("Sub", 1));
  add("Multiply", binary("Multiply", 2));
  add("RealDiv", binary("RealDiv", 3));

  // Sum / Mean over a leading or trailing block of axes (bias gradients, channel means); else the old kernel.
  const reduce = (name: string, mean: boolean) => (args: Args) => {
    const b = wasmOf(args);
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = args.attrs as unknown as tf.SumAttrs;
    if (!allFloat(x)) return fallback(name, args, "not float32");
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((p, q) => p - q);
    const r = x.shape.length;
    const leading = axes.every((d, i) => d === i);
    const trailing = axes.every((d, i) => d === r - axes.length + i);
    if (axes.length === 0 || (!leading && !trailing) || (leading && mean && !trailing))
      return fallback(name, args, "reduction axes in the middle");
    const [outShape, reduceShape] = tf.backend_util.computeOutAndReduceShapes(x.shape, axes);
    const shape = keepDims ? tf.backend_util.expandShapeToKeepDim(outShape, axes) : outShape;
    const out = b.makeOutput(shape, "float32");
    const n = size(reduceShape), kept = size(outShape);
    if (trailing) a.sumCols(heap(b), offset(b, x), offset(b, out), kept, n, mean ? 1 / n : 1);
    else a.sumRows(heap(b), offset(b, x), offset(b, out), n, kept);
    return out;
  };
  add("Sum", reduce("Sum", false));
  add("Mean", reduce("Mean", true));

  const poolShape = (info: tf.backend_util.Conv2DInfo): Ints => convShape({ ...info, outChannels: info.inChannels });
  add("MaxPool", (args) => {
    const b = wasmOf(args);
    const { x } = args.inputs as { x: tf.TensorInfo };
    const at = args.attrs as unknown as tf.MaxPoolAttrs;
    if (!allFloat(x)) return fallback("MaxPool", args, "not float32");
    const info = tf.backend_util.computePool2DInfo(
      x.shape as [number, number, number, number], at.filterSize, at.strides, 1, at.pad, at.dimRoundingMode);
    const y = b.makeOutput(info.outShape, "float32");
    a.maxPool(heap(b), offset(b, x), offset(b, y), poolShape(info));
    return y;
  });
  add("MaxPoolGrad", (args) => {
    const b = wasmOf(args);
    const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
    const at = args.attrs as unknown as tf.MaxPoolGradAttrs;
    if (!allFloat(dy, input)) return fallback("MaxPoolGrad", args, "not float32");
    const info = tf.backend_util.computePool2DInfo(
      input.shape as [number, number, number, number], at.filterSize, at.strides, 1, at.pad, at.dimRoundingMode);
    const dx = b.makeOutput(input.shape, "float32");
    a.maxPoolGrad(heap(b), offset(b, dy), offset(b, input), offset(b, dx), poolShape(info));
    return dx;
  });
  add("AvgPoolGrad", (args) => {
    const b = wasmOf(args);
    const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
    const at = args.attrs as unknown as tf.AvgPoolGradAttrs;
    if (!allFloat(dy, input)) return fallback("AvgPoolGrad", args, "not float32");
    const info = tf.backend_util.computePool2DInfo(
      input.shape as [number, number, number, number], at.filterSize, at.strides, 1, at.pad);
    const dx = b.makeOutput(input.shape, "float32");
    a.avgPoolGrad(heap(b), offset(b, dy), offset(b, dx), poolShape(info));
    return dx;
  });

  add("ResizeBilinear", (args) => {
    const b = wasmOf(args);
    const { images } = args.inputs as { images: tf.TensorInfo };
    const at = args.attrs as unknown as tf.ResizeBilinearAttrs;
    if (!allFloat(images) || images.shape.length !== 4) return fallback("ResizeBilinear", args, "unsupported input");
    const [n, h, w, c] = images.shape;
    const [oh, ow] = at.size;
    const y = b.makeOutput([n, oh, ow, c], "float32");
    a.resizeBilinear(heap(b), offset(b, images), offset(b, y),
      [n, h, w, c, oh, ow, at.alignCorners ? 1 : 0, at.halfPixelCenters ? 1 : 0]);
    return y;
  });
  // The exact adjoint of ResizeBilinear, half-pixel centres included.
  add("ResizeBilinearGrad", (args) => {
    const b = wasmOf(args);
    const { images, dy } = args.inputs as { images: tf.TensorInfo; dy: tf.TensorInfo };
    const at = args.attrs as unknown as tf.ResizeBilinearAttrs;
    if (!allFloat(images, dy) || images.shape.length !== 4) return fallback("ResizeBilinearGrad", args, "unsupported input");
    const [n, h, w, c] = images.shape;
    const dx = b.makeOutput(images.shape, "float32");
    a.resizeBilinearGrad(heap(b), offset(b, dy), offset(b, dx),
      [n, h, w, c, dy.shape[1], dy.shape[2], at.alignCorners ? 1 : 0, at.halfPixelCenters ? 1 : 0]);
    return dx;
  });

  add("Concat", (args) => {
    const b = wasmOf(args);
    const inputs = Object.values(args.inputs) as tf.TensorInfo[];
    const { axis } = args.attrs as unknown as tf.ConcatAttrs;
    if (inputs.length === 0 || !allFloat(...inputs)) return fallback("Concat", args, "not float32");
    const ax = tf.util.parseAxisParam(axis, inputs[0].shape)[0];
    const shape = tf.backend_util.computeOutShape(inputs.map((t) => t.shape), ax);
    const out = b.makeOutput(shape, "float32");
    const outer = size(shape.slice(0, ax));
    const live = inputs.filter((t) => size(t.shape) > 0);
    a.concat(heap(b), live.map((t) => offset(b, t)), live.map((t) => size(t.shape.slice(ax))), offset(b, out), outer);
    return out;
  });

  const sliceInto = (b: BackendWasm, x: tf.TensorInfo, begin: number[], sz: number[]): tf.TensorInfo => {
    const out = b.makeOutput(sz, "float32");
    if (size(sz) > 0) a.slice(heap(b), offset(b, x), offset(b, out), x.shape, begin, sz);
    return out;
  };
  add("Slice", (args) => {
    const b = wasmOf(args);
    const { x } = args.inputs as { x: tf.TensorInfo };
    const at = args.attrs as unknown as tf.SliceAttrs;
    if (!allFloat(x) || x.shape.length > 6) return fallback("Slice", args, "unsupported input");
    const [begin, sz] = tf.slice_util.parseSliceParams(x as tf.Tensor, at.begin, at.size);
    return sliceInto(b, x, begin, sz);
  });
  add("SplitV", (args) => {
    const b = wasmOf(args);
    const { x } = args.inputs as { x: tf.TensorInfo };
    const at = args.attrs as unknown as tf.SplitVAttrs;
    if (!allFloat(x) || x.shape.length > 6) return fallback("SplitV", args, "unsupported input");
    const ax = tf.util.parseAxisParam(at.axis, x.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, at.numOrSizeSplits, ax);
    const begin = x.shape.map(() => 0);
    return sizes.map((s) => {
      const sz = [...x.shape];
      sz[ax] = s;
      const out = sliceInto(b, x, [...begin], sz);
      begin[ax] += s;
      return out;
    });
  });

  return list;
}
