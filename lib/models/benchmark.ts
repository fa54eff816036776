// The SAMFeat speed benchmark, the TypeScript twin of bench/torch_reference.py:
// same network, same surrogate loss, same optimiser, same timing rule (median
// of `steps` runs after one warm-up).
import * as tf from "@tensorflow/tfjs";
import { engineInfo } from "../engine/index";
import { Adam } from "./adam";
import { median, trainStep } from "./bare-step";
import { SamFeatNet } from "./samfeat";

export interface BenchmarkOptions {
  width?: number;
  /** Training crop side (positive multiple of 8). */
  size?: number;
  /** Image pairs per training step: the batch holds 2*batch images. */
  batch?: number;
  /** Inference image [H, W] (positive multiples of 8). */
  inferSize?: [number, number];
  steps?: number;
  seed?: number;
  /** Called after each timed run, e.g. to drive a progress bar. */
  onStep?: (phase: "train" | "infer", done: number, total: number) => void;
}

export interface BenchmarkResult {
  backend: string;
  adapter: string | null; // webgpu: the adapter (a software one times nothing worth comparing)
  threads: number | null;
  native: boolean | null;
  width: number;
  size: number;
  batch_pairs: number;
  infer_size: string;
  params: number;
  train_step_ms: number;
  infer_ms: number;
  loss: number;
  num_tensors_after_warmup: number;
  num_tensors_after_last: number;
  peak_rss_mb: number;
}

export const BENCHMARK_DEFAULTS = { width: 1, size: 192, batch: 4, inferSize: [480, 640] as [number, number], steps: 5, seed: 0 };

const round1 = (x: number) => Math.round(x * 10) / 10;

/**
 * Time a training step (forward + backward + Adam(lr 1e-3, weight decay 1e-4) on
 * 2*batch images of size x size) and one-image inference on the current backend
 * (the one initEngine chose, when it was called).
 */
export async function runBenchmark(opts: BenchmarkOptions = {}): Promise<BenchmarkResult> {
  const o = { ...BENCHMARK_DEFAULTS, ...opts };
  const engine = engineInfo();
  const [ih, iw] = o.inferSize;
  const net = new SamFeatNet({ width: o.width, seed: o.seed });
  const opt = new Adam(net.params, { lr: 1e-3, weightDecay: 1e-4 });
  const x = tf.randomUniform([2 * o.batch, o.size, o.size, 3], -1, 1, "float32", o.seed) as tf.Tensor4D;
  const xi = tf.randomUniform([1, ih, iw, 3], -1, 1, "float32", o.seed + 1) as tf.Tensor4D;
  try {
    let loss = NaN;
    const train = async () => {
      const l = trainStep(net, opt, x);
      loss = (await l.data())[0]; // waits for the step on asynchronous backends
      l.dispose();
    };
    const infer = async () => {
      const out = tf.tidy(() => net.apply(xi).heatmap);
      await out.data();
      out.dispose();
    };
    const time = async (phase: "train" | "infer", fn: () => Promise<void>) => {
      const ts: number[] = [];
      for (let i = 0; i < o.steps; i++) {
        const t = performance.now();
        await fn();
        ts.push(performance.now() - t);
        o.onStep?.(phase, i + 1, o.steps);
      }
      return median(ts);
    };
    // One warm-up each (kernels set up, optimiser state allocated), as the reference does.
    await train();
    const afterWarmup = tf.memory().numTensors;
    const trainMs = await time("train", train);
    await infer();
    const inferMs = await time("infer", infer);
    const afterLast = tf.memory().numTensors;
    return {
      backend: tf.getBackend(),
      threads: engine?.backend === tf.getBackend() ? engine.threads : null,
      native: engine?.backend === tf.getBackend() ? engine.native : null,
      adapter: engine?.backend === tf.getBackend() && engine.backend === "webgpu" ? engine.adapter : null,
      width: o.width,
      size: o.size,
      batch_pairs: o.batch,
      infer_size: `${ih}x${iw}`,
      params: net.numParams(),
      train_step_ms: round1(trainMs),
      infer_ms: round1(inferMs),
      loss,
      num_tensors_after_warmup: afterWarmup,
      num_tensors_after_last: afterLast,
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    };
  } finally {
    tf.dispose([x, xi]);
    opt.dispose();
    net.dispose();
  }
}
