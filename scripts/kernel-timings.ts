// Times the wasm training kernels against the forward ops they are built from and against upstream tfjs.
// usage: npx tsx scripts/kernel-timings.ts [--reps N] [--only conv|extra]
// Prints one JSON line per measurement: the median ms over --reps runs (default 3) after one warm-up run,
// which creates the XNNPACK operators and grows the heap. Upstream's Conv2DBackpropInput (seconds per call,
// no set-up) runs once. Set SAMFEAT_NATIVE=0 to time the wasm kernels alone. Shared machines make it noisy.
import * as tf from "@tensorflow/tfjs";
import { initEngine } from "../lib/engine";
import { upstreamKernel } from "../lib/engine/wasm-kernels";
import { conv2dBackpropFilterConfig } from "../lib/engine/wasm-kernels/conv2d-backprop-filter";
import { conv2dBackpropInputConfig } from "../lib/engine/wasm-kernels/conv2d-backprop-input";
import { maxPoolGradConfig } from "../lib/engine/wasm-kernels/max-pool-grad";
import { resizeBilinearGradWasmConfig } from "../lib/engine/wasm-kernels/resize-bilinear-grad";
import { choiceFlag, integerFlag, parseCommandLine, runMain, UsageError } from "../lib/util/cli";

interface Options {
  reps: number;
  only?: "conv" | "extra";
}

// The shapes of toolchain.md's measurements: [B,H,W,Ci] -> Co, 3x3 convolutions.
const CONV_SHAPES: { x: [number, number, number, number]; co: number; stride: number }[] = [
  { x: [8, 192, 192, 64], co: 64, stride: 1 },
  { x: [8, 48, 48, 128], co: 128, stride: 1 },
  { x: [8, 96, 96, 64], co: 128, stride: 1 },
  { x: [8, 96, 96, 64], co: 128, stride: 2 },
];

const USAGE = [
  "usage: npx tsx scripts/kernel-timings.ts [--reps N] [--only conv|extra]",
  "  --reps N          timed runs per measurement after one warm-up, 1..50 (default 3)",
  "  --only conv|extra only the convolution shapes, or only the other kernels (default both)",
].join("\n");
const MAX_REPS = 50;

function parseArgs(argv: string[]): Options {
  const v = parseCommandLine(argv, { usage: USAGE, options: { reps: { type: "string" }, only: { type: "string" } } });
  const reps = integerFlag(v.reps, "--reps") ?? 3;
  if (reps > MAX_REPS) throw new UsageError(`--reps ${reps}: expected an integer in 1..${MAX_REPS}`);
  return { reps, only: choiceFlag(v.only, "--only", ["conv", "extra"] as const) };
}

type Run = () => tf.TensorInfo;

/** Median wall time of `run` in ms; each result is freed straight away. */
function time(run: Run, reps: number, warmUp: boolean): number {
  const backend = tf.backend();
  if (warmUp) backend.disposeData(run().dataId);
  const ms: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    const out = run();
    ms.push(performance.now() - t0);
    backend.disposeData(out.dataId);
  }
  ms.sort((a, b) => a - b);
  return Math.round(ms[Math.floor(ms.length / 2)] * 10) / 10;
}

function kernelRun(config: tf.KernelConfig | undefined, inputs: tf.NamedTensorInfoMap, attrs: object): Run | undefined {
  if (config === undefined) return undefined;
  return () => config.kernelFunc({ inputs, attrs: attrs as tf.NamedAttrMap, backend: tf.backend() }) as tf.TensorInfo;
}

function emit(shape: string, op: string, run: Run | undefined, opts: Options, slow = false, note?: string): void {
  const ms = run === undefined ? null : slow ? time(run, 1, false) : time(run, opts.reps, true);
  console.log(JSON.stringify({ shape, op, ms, ...(note ? { note } : {}) }));
}

function convTimings(opts: Options): void {
  for (const { x: xs, co, stride } of CONV_SHAPES) {
    const [b, h, w, ci] = xs;
    const shape = `${xs.join("x")}->${co}${stride > 1 ? ` stride ${stride}` : ""}`;
    const x = tf.randomNormal(xs);
    const filter = tf.randomNormal([3, 3, ci, co]);
    const dy = tf.randomNormal([b, Math.ceil(h / stride), Math.ceil(w / stride), co]);
    const convAttrs = { strides: stride, pad: "same", dataFormat: "NHWC", dilations: 1 };
    emit(shape, "conv2d_forward", kernelRun(tf.getKernel("Conv2D", "wasm"), { x, filter }, convAttrs), opts);
    const inAttrs = { strides: stride, pad: "same", dataFormat: "NHWC", inputShape: xs };
    emit(shape, "input_grad_project", kernelRun(conv2dBackpropInputConfig, { dy, filter }, inAttrs), opts);
    emit(shape, "input_grad_upstream", kernelRun(upstreamKernel("Conv2DBackpropInput"), { dy, filter }, inAttrs), opts, true);
    const fAttrs = { strides: stride, pad: "same", dataFormat: "NHWC", filterShape: [3, 3, ci, co] };
    emit(shape, "filter_grad_project", kernelRun(conv2dBackpropFilterConfig, { x, dy }, fAttrs), opts);
    emit(shape, "filter_grad_upstream", undefined, opts, true, "not registered for wasm upstream");
    tf.dispose([x, filter, dy]);
  }
}

function extraTimings(opts: Options): void {
  // Pooling: trunk c1 output, 2x2 max pool.
  {
    const x = tf.randomNormal([8, 192, 192, 64]);
    const y = tf.maxPool(x as tf.Tensor4D, 2, 2, "same");
    const dy = tf.randomNormal(y.shape);
    const shape = "8x192x192x64 maxpool 2x2";
    const attrs = { filterSize: 2, strides: 2, pad: "same" };
    emit(shape, "maxpool_forward", kernelRun(tf.getKernel("MaxPool", "wasm"), { x }, attrs), opts);
    emit(shape, "maxpool_grad_project", kernelRun(maxPoolGradConfig, { dy, input: x, output: y }, attrs), opts);
    const note = "wrong where a window's values are all negative";
    emit(shape, "maxpool_grad_upstream", kernelRun(upstreamKernel("MaxPoolGrad"), { dy, input: x, output: y }, attrs), opts, false, note);
    tf.dispose([x, y, dy]);
  }
  // Resizes of the fused feature: c1 (s1 -> s4) and c4 (s8 -> s4), PyTorch align_corners=False.
  for (const [from, to] of [
    [[8, 192, 192, 64], [48, 48]],
    [[8, 24, 24, 128], [48, 48]],
  ] as [[number, number, number, number], [number, number]][]) {
    const x = tf.randomNormal(from);
    const dy = tf.randomNormal([from[0], to[0], to[1], from[3]]);
    const shape = `${from.join("x")} resize to ${to.join("x")}`;
    const attrs = { alignCorners: false, halfPixelCenters: true, size: to };
    emit(shape, "resize_forward", kernelRun(tf.getKernel("ResizeBilinear", "wasm"), { images: x }, attrs), opts);
    emit(shape, "resize_grad_project", kernelRun(resizeBilinearGradWasmConfig, { images: x, dy }, attrs), opts);
    emit(
      shape,
      "resize_grad_upstream",
      kernelRun(upstreamKernel("ResizeBilinearGrad"), { images: x, dy }, attrs),
      opts,
      false,
      "ignores halfPixelCenters: wrong gradient",
    );
    tf.dispose([x, dy]);
  }
  // Per-channel row attention: [B*C, H, W] scores q k^T, then att v, and their gradients' transposed forms.
  {
    const a = tf.randomNormal([8 * 384, 48, 48]);
    const c = tf.randomNormal([8 * 384, 48, 48]);
    const shape = "3072x48x48 batched matmul";
    const mm = tf.getKernel("BatchMatMul", "wasm");
    emit(shape, "matmul", kernelRun(mm, { a, b: c }, { transposeA: false, transposeB: false }), opts);
    emit(shape, "matmul_transposeB", kernelRun(mm, { a, b: c }, { transposeA: false, transposeB: true }), opts);
    emit(shape, "matmul_transposeA", kernelRun(mm, { a, b: c }, { transposeA: true, transposeB: false }), opts);
    emit(shape, "matmul_transposeAB", kernelRun(mm, { a, b: c }, { transposeA: true, transposeB: true }), opts);
    tf.dispose([a, c]);
  }
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const info = await initEngine({ backend: "wasm", quiet: true });
  console.log(JSON.stringify({ engine: info.backend, native: info.native, threads: info.threads, reps: opts.reps }));
  if (opts.only !== "extra") convTimings(opts);
  if (opts.only !== "conv") extraTimings(opts);
}

runMain(main);
