// The worker thread that assembles training batches ahead of the loop (lib/training/prefetch.ts):
// it rebuilds the sources from their snapshot and answers each requested step with that step's
// batch arrays, moved (not copied) back to the main thread. The arrays are exactly what the main
// thread would have built for that step, so prefetching never changes a run.
import { parentPort, workerData } from "node:worker_threads";
import { batchBuffers, stepArrays } from "./batch";
import type { PairOptions } from "./pairs";
import { BatchSchedule } from "./schedule";
import { PairSources, SourcesSnapshot } from "./sources";

interface WorkerInit {
  sources: SourcesSnapshot;
  batch: number;
  seed: number;
  pairOptions: Partial<PairOptions>;
}

const init = workerData as WorkerInit;
const sources = PairSources.fromSnapshot(init.sources);
const schedule = new BatchSchedule(sources.count, init.batch, init.seed);
parentPort!.on("message", (step: number) => {
  try {
    const arrays = stepArrays(sources, schedule, step, init.pairOptions);
    parentPort!.postMessage({ step, arrays }, batchBuffers(arrays));
  } catch (e) {
    parentPort!.postMessage({ step, error: (e as Error).message });
  }
});
