import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { setThreadsCount, setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { installEagerBackward } from "./backward";
import { registerTrainingKernels, registerWebgpuKernelFixes } from "./wasm-kernels/index";
import { adapterLabel, findWebgpuAdapter, hasGpuDeviceNode, registerWebgpuBackend, webgpuUsable } from "./webgpu";
// Type-only, so ./native is part of the TypeScript program (tslab compiles only modules reachable by
// imports); its code is loaded lazily below, since it loads the optional addon.
import type * as NativeKernels from "./native";
import type { NativeStatus } from "./native";

import { BackendName, EngineInfo, recordEngineInfo } from "./state";

export type { BackendName, EngineInfo } from "./state";
export { engineInfo } from "./state";

export interface EngineOptions {
  backend?: BackendName; // force one backend (else env SAMFEAT_BACKEND, else the fastest that loads)
  threads?: number; // else env SAMFEAT_THREADS, else 2; capped at the machine's cores
  quiet?: boolean; // do not print the one-line summary
}

const BACKENDS: readonly BackendName[] = ["tensorflow", "webgpu", "wasm", "cpu"];
const DEFAULT_THREADS = 2;

interface Resolved {
  forced?: { name: BackendName; source: string };
  threads: number;
  native: boolean; // SAMFEAT_NATIVE is not "0"
}

let current: { key: string; info: Promise<EngineInfo> } | undefined;

/**
 * Picks the compute backend: tensorflow (tfjs-node-gpu) when it loads, else webgpu (Dawn) on a hardware
 * adapter, else wasm with the project's training kernels (and native kernels when the addon loads),
 * else cpu. Prints one line unless quiet.
 * A second call with the same options returns the same info without re-initialising.
 */
export async function initEngine(opts: EngineOptions = {}): Promise<EngineInfo> {
  const resolved = resolveOptions(opts);
  const key = JSON.stringify(resolved);
  if (current?.key !== key) {
    const info = select(resolved).then((i) => {
      recordEngineInfo(i);
      return i;
    });
    current = { key, info };
    // A failed selection must not be cached: the caller may fix the option and retry.
    info.catch(() => {
      if (current?.info === info) current = undefined;
    });
  }
  const info = await current.info;
  if (!opts.quiet) console.log(describeEngine(info));
  return info;
}

function resolveOptions(opts: EngineOptions): Resolved {
  let forced: Resolved["forced"];
  const envBackend = process.env.SAMFEAT_BACKEND?.trim();
  if (opts.backend !== undefined) forced = { name: checkBackendName(opts.backend, "option backend"), source: "option backend" };
  else if (envBackend) forced = { name: checkBackendName(envBackend, "SAMFEAT_BACKEND"), source: "SAMFEAT_BACKEND" };

  let threads = DEFAULT_THREADS;
  const envThreads = process.env.SAMFEAT_THREADS?.trim();
  if (opts.threads !== undefined) threads = checkThreads(opts.threads, "option threads");
  else if (envThreads) threads = checkThreads(Number(envThreads), "SAMFEAT_THREADS", envThreads);
  const cores = typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
  return { forced, threads: Math.min(threads, Math.max(1, cores)), native: process.env.SAMFEAT_NATIVE !== "0" };
}

function checkBackendName(name: string, source: string): BackendName {
  if ((BACKENDS as readonly string[]).includes(name)) return name as BackendName;
  throw new Error(`backend '${name}' is unknown: choose ${BACKENDS.slice(0, -1).join(", ")} or ${BACKENDS.at(-1)} (from ${source})`);
}

function checkThreads(n: number, source: string, raw: string = String(n)): number {
  if (Number.isInteger(n) && n >= 1) return n;
  throw new Error(`threads must be a positive integer, got '${raw}' (from ${source})`);
}

async function select(r: Resolved): Promise<EngineInfo> {
  // Cheap and idempotent; also fixes upstream cpu gradient kernels, so register whatever gets chosen.
  registerTrainingKernels();
  // Every backend: tfjs-core's own backward pass holds all activations and gradients to its end.
  installEagerBackward();
  const order: BackendName[] = r.forced ? [r.forced.name] : [...BACKENDS];
  const skipped: string[] = [];
  for (const name of order) {
    const attempt = await tryBackend(name, r.threads, r.native, r.forced !== undefined);
    if (attempt.ok) {
      const reason = r.forced ? `forced by ${r.forced.source}` : skipped.length > 0 ? skipped.join("; ") : "the fastest backend";
      const base: EngineInfo = { backend: name, reason, native: false, nativeReason: `native kernels are for wasm only`, nativeConvolutions: "", threads: r.threads, adapter: "" };
      return { ...base, ...attempt.extra };
    }
    if (r.forced) throw new Error(`backend '${name}' cannot load: ${attempt.why} (from ${r.forced.source})`);
    skipped.push(attempt.why);
  }
  throw new Error(`no backend could load: ${skipped.join("; ")}`);
}

// One shape for success and failure: notebooks (tslab) compile without strict narrowing of unions.
interface Attempt {
  ok: boolean;
  why: string; // when not ok
  extra: Partial<EngineInfo>; // when ok
}

function loaded(extra: Partial<EngineInfo>): Attempt {
  return { ok: true, why: "", extra };
}

function failed(why: string): Attempt {
  return { ok: false, why, extra: {} };
}

async function tryBackend(name: BackendName, threads: number, native: boolean, forced: boolean): Promise<Attempt> {
  switch (name) {
    case "tensorflow":
      return tryTensorflow(threads);
    case "webgpu":
      return tryWebgpu(forced);
    case "wasm":
      return tryWasm(threads, native);
    case "cpu":
      return (await setBackend("cpu")) ? loaded({ threads: 1 }) : failed("cpu backend failed to initialise");
  }
}

async function tryTensorflow(threads: number): Promise<Attempt> {
  const moduleName = "@tensorflow/tfjs-node-gpu";
  if (tf.findBackend("tensorflow") === null) {
    try {
      // Optional dependency: npm drops it when its libtensorflow download fails. Registers "tensorflow".
      require(moduleName);
    } catch (e) {
      const message = firstLine(e);
      const missing = (e as NodeJS.ErrnoException).code === "MODULE_NOT_FOUND" && message.includes(`'${moduleName}'`);
      return failed(missing ? "tfjs-node-gpu not installed" : `tfjs-node-gpu failed to load: ${message}`);
    }
  }
  if (!(await setBackend("tensorflow"))) return failed("tfjs-node-gpu loaded but its backend failed to initialise");
  return loaded({ threads });
}

async function tryWebgpu(forced: boolean): Promise<Attempt> {
  // Without a GPU device there is at most a software adapter, which the default never takes: do not
  // load Dawn (20 MB, and warnings on stderr) for nothing.
  if (!forced && !hasGpuDeviceNode()) return failed("webgpu: no GPU device (/dev/dri/renderD*, /dev/nvidia*)");
  const usable = webgpuUsable(await findWebgpuAdapter(), forced);
  if (!usable.ok) return failed(usable.why);
  let adapter;
  try {
    adapter = await registerWebgpuBackend();
  } catch (e) {
    return failed(`webgpu: the device could not be created: ${firstLine(e)}`);
  }
  // After the backend package's import, which registers its own kernels over any earlier ones.
  registerWebgpuKernelFixes();
  if (!(await setBackend("webgpu"))) return failed("webgpu: the backend failed to initialise");
  return loaded({ threads: 1, adapter: adapterLabel(adapter) });
}

let wasmPathsSet = false;

async function tryWasm(threads: number, nativeWanted: boolean): Promise<Attempt> {
  if (!wasmPathsSet) {
    // Point at the package's own .wasm files, so loading does not depend on where the caller's script
    // lives (tslab runs cells from the notebook folder).
    const dist = path.join(path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json")), "dist");
    setWasmPaths(dist + path.sep);
    setThreadsCount(threads);
    wasmPathsSet = true;
  }
  if (!(await setBackend("wasm"))) return failed("wasm backend failed to initialise");
  const native = nativeWanted ? loadNative(threads) : unloadNative();
  // Without native kernels, wasm in node runs on one thread (the threaded build needs web workers).
  return loaded({
    native: native.loaded,
    nativeReason: native.reason,
    nativeConvolutions: native.convolutions,
    threads: native.loaded ? native.threads : 1,
  });
}

let nativeModule: typeof NativeKernels | undefined;

function loadNative(threads: number): NativeStatus {
  let status: NativeStatus;
  try {
    // Lazy: the native kernels are optional and register themselves over the project's wasm kernels.
    nativeModule = require("./native") as typeof NativeKernels;
    status = nativeModule.registerNativeKernels(threads);
  } catch (e) {
    // registerNativeKernels reports a missing or broken addon itself; this is for the unexpected.
    return { loaded: false, reason: `lib/engine/native failed: ${firstLine(e)}`, threads: 1, convolutions: "" };
  }
  return status.loaded ? status : { ...status, threads: 1 };
}

/** SAMFEAT_NATIVE=0 after native kernels were registered in this process: put the wasm kernels back. */
function unloadNative(): NativeStatus {
  // The wasm training kernels were just re-registered over any native ones; this also restores the
  // forward kernels (Conv2D, BatchMatMul, ...) the native module replaced.
  nativeModule?.unregisterNativeKernels();
  return { loaded: false, reason: "disabled by SAMFEAT_NATIVE=0", threads: 1, convolutions: "" };
}

async function setBackend(name: BackendName): Promise<boolean> {
  try {
    return await tf.setBackend(name);
  } catch {
    return false;
  }
}

/** The one line initEngine prints: backend, why, for webgpu the adapter, for wasm the native kernels and threads. */
export function describeEngine(info: EngineInfo): string {
  return `engine: ${info.backend} (${describeReason(info)})`;
}

function describeReason(info: EngineInfo): string {
  if (info.backend === "webgpu") return `${info.reason}; adapter: ${info.adapter}`;
  if (info.backend !== "wasm") return info.reason;
  const threads = `${info.threads} thread${info.threads > 1 ? "s" : ""}`;
  const native = info.native ? `on (${info.nativeConvolutions} convolutions), ${threads}` : `off: ${info.nativeReason}`;
  return `${info.reason}; native kernels: ${native}`;
}

function firstLine(e: unknown): string {
  return String(e instanceof Error ? e.message : e).split("\n")[0];
}
