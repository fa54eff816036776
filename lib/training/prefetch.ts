// Batches for the training loop, built one step ahead on a worker thread while the current step
// trains (batch assembly is plain JavaScript: crops, warps, augmentation). Where a worker cannot
// start (e.g. inside a notebook kernel, which has no TypeScript loader for worker files), batches
// are built inline: the same arrays, only not overlapped with training.
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import { BatchArrays, stepArrays } from "./batch";
import type { PairOptions } from "./pairs";
import { BatchSchedule } from "./schedule";
import type { PairSources } from "./sources";

export interface BatchSource {
  /** "worker" (prefetched) or "inline", with the reason when inline was not asked for. */
  readonly mode: "worker" | "inline";
  readonly reason?: string;
  /** The arrays of step `step`; steps must be asked for in increasing order. */
  next(step: number): Promise<BatchArrays>;
  close(): Promise<void>;
}

export interface BatchSourceOptions {
  batch: number;
  seed: number;
  pairOptions: Partial<PairOptions>;
  /** Build batches on a worker thread (default true). */
  prefetch?: boolean;
}

function inlineSource(sources: PairSources, o: BatchSourceOptions, reason?: string): BatchSource {
  const schedule = new BatchSchedule(sources.count, o.batch, o.seed);
  return {
    mode: "inline",
    reason,
    next: async (step) => stepArrays(sources, schedule, step, o.pairOptions),
    close: async () => {},
  };
}

/** A worker answering one step at a time; `next(s)` asks for s + 1 as soon as s arrives. */
async function workerSource(sources: PairSources, o: BatchSourceOptions): Promise<BatchSource> {
  // The worker file is TypeScript: a worker does not inherit the parent's loader hooks, so it
  // registers tsx's CommonJS loader itself before loading the file.
  const bootstrap = `require(${JSON.stringify(require.resolve("tsx/cjs"))}); require(${JSON.stringify(path.join(__dirname, "batch-worker.ts"))});`;
  const worker = new Worker(bootstrap, {
    eval: true,
    workerData: { sources: sources.snapshot(), batch: o.batch, seed: o.seed, pairOptions: o.pairOptions },
  });
  const pending = new Map<number, { resolve: (a: BatchArrays) => void; reject: (e: Error) => void; promise: Promise<BatchArrays> }>();
  const request = (step: number) => {
    let resolve!: (a: BatchArrays) => void, reject!: (e: Error) => void;
    const promise = new Promise<BatchArrays>((res, rej) => ((resolve = res), (reject = rej)));
    promise.catch(() => {}); // a prefetched step nobody asks for must not be an unhandled rejection
    pending.set(step, { resolve, reject, promise });
    worker.postMessage(step);
  };
  let failed: Error | undefined;
  worker.on("message", (m: { step: number; arrays?: BatchArrays; error?: string }) => {
    const p = pending.get(m.step);
    if (!p) return;
    if (m.error !== undefined) p.reject(new Error(m.error));
    else p.resolve(m.arrays!);
  });
  worker.on("error", (e) => {
    failed = e;
    for (const p of pending.values()) p.reject(e);
  });
  // Wait until the worker is up (or fails to load) before relying on it.
  await new Promise<void>((resolve, reject) => {
    worker.once("online", () => resolve());
    worker.once("error", reject);
  });
  return {
    mode: "worker",
    async next(step) {
      if (failed) throw failed;
      if (!pending.has(step)) request(step);
      const arrays = await pending.get(step)!.promise;
      pending.delete(step);
      request(step + 1);
      return arrays;
    },
    async close() {
      await worker.terminate();
    },
  };
}

/** A prefetching worker when possible, else inline assembly (its `reason` says why). */
export async function createBatchSource(sources: PairSources, o: BatchSourceOptions): Promise<BatchSource> {
  if (o.prefetch === false) return inlineSource(sources, o);
  try {
    return await workerSource(sources, o);
  } catch (e) {
    return inlineSource(sources, o, `batches built inline: the batch worker did not start (${(e as Error).message.split("\n")[0]})`);
  }
}
