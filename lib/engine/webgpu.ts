// The WebGPU backend in Node: Dawn (the `webgpu` package, whose dawn.node ships prebuilt in its npm
// tarball) under @tensorflow/tfjs-backend-webgpu. Outside a browser tfjs cannot do three things this
// module does: find an adapter (Dawn's OpenGL ES backend in compatibility mode where there is no
// Vulkan/Metal/D3D12 GPU, e.g. Mesa's llvmpipe), register the backend on that adapter, and read a
// tensor synchronously (dataSync; upstream goes through an OffscreenCanvas, which Node lacks).
import * as fs from "fs";
import * as tf from "@tensorflow/tfjs";

/** The adapter webgpu runs on, as Dawn reports it. */
export interface WebgpuAdapterInfo {
  vendor: string; // e.g. "nvidia"; "" when the driver does not say (Mesa over OpenGL ES)
  architecture: string; // e.g. "ampere"; "" likewise
  device: string;
  description: string;
  dawnBackend: string; // "native" (Vulkan, Metal or D3D12, Dawn's choice) or "opengles"
  software: boolean; // a CPU rasteriser (llvmpipe, lavapipe, SwiftShader): correct, never fast
}

/** What the adapter search found: `adapter` when `found`, else `why` not. */
export interface WebgpuSearch {
  found: boolean;
  why: string;
  adapter: WebgpuAdapterInfo | undefined;
}

// Minimal views of the WebGPU objects used here (the full types would pull DOM declarations in).
interface GpuBuffer {
  readonly size: number;
  readonly mapState: string;
  mapAsync(mode: number): Promise<void>;
  getMappedRange(): ArrayBuffer;
  unmap(): void;
}
interface GpuLimits {
  [name: string]: number;
}
interface GpuDevice {
  readonly lost: Promise<{ message: string }>;
  addEventListener(type: string, listener: (e: { error: { message: string } }) => void): void;
  destroy(): void;
}
interface GpuAdapter {
  readonly info: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter?: boolean };
  readonly features: { has(name: string): boolean };
  readonly limits: GpuLimits;
  requestDevice(descriptor: object): Promise<GpuDevice>;
}
interface Gpu {
  requestAdapter(options?: object): Promise<GpuAdapter | null>;
}
interface Dawn {
  create(options: string[]): Gpu;
  globals: Record<string, unknown>;
}
/** The parts of tfjs-backend-webgpu's WebGPUBackend that the synchronous read uses. */
interface WebgpuBackendInternals {
  tensorMap: { get(dataId: object): { values: BackendValues | null; dtype: tf.DataType; resource: unknown; complexTensorInfos?: { real: tf.TensorInfo; imag: tf.TensorInfo } } };
  bufferManager: { acquireBuffer(size: number, usage: number): GpuBuffer; releaseBuffer(b: GpuBuffer): void };
  commandEncoder: { copyBufferToBuffer(src: GpuBuffer, srcOffset: number, dst: GpuBuffer, dstOffset: number, size: number): void };
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  convertAndCacheOnCPU(dataId: object, values: BackendValues): BackendValues;
  readSync(dataId: object): BackendValues;
}

type BackendValues = ReturnType<tf.KernelBackend["readSync"]>;

const SOFTWARE = /llvmpipe|lavapipe|softpipe|swiftshader|software/i;

interface Candidate {
  gpu: Gpu;
  adapter: GpuAdapter;
  info: WebgpuAdapterInfo;
}

let dawn: Dawn | undefined;
let search: Promise<{ result: WebgpuSearch; candidate: Candidate | undefined }> | undefined;
let registered: WebgpuAdapterInfo | undefined;
// Dawn's event pump, captured while the device is created (see captureDawnTick).
let dawnTick: (() => void) | undefined;

/**
 * GPU device nodes on Linux (DRM render nodes, NVIDIA's, WSL's): without one there is no hardware
 * adapter to find, so the default selection does not load Dawn at all. Other systems: true.
 */
export function hasGpuDeviceNode(): boolean {
  if (process.platform !== "linux") return true;
  const list = (dir: string) => {
    try {
      return fs.readdirSync(dir);
    } catch {
      return [];
    }
  };
  return list("/dev/dri").some((n) => n.startsWith("renderD")) || list("/dev").some((n) => /^nvidia\d+$/.test(n) || n === "dxg");
}

function loadDawn(): string {
  if (dawn !== undefined) return "";
  try {
    // ESM package; Node >= 20.19 loads it through require. Also installs GPUBufferUsage and the other
    // WebGPU globals the backend reads.
    dawn = require("webgpu") as Dawn;
  } catch (e) {
    const message = String(e instanceof Error ? e.message : e).split("\n")[0];
    return (e as NodeJS.ErrnoException).code === "MODULE_NOT_FOUND" && message.includes("'webgpu'") ? "the webgpu package (Dawn) is not installed" : `dawn.node failed to load: ${message}`;
  }
  for (const [name, value] of Object.entries(dawn.globals)) {
    if (!(name in globalThis)) (globalThis as Record<string, unknown>)[name] = value;
  }
  return "";
}

function describeInfo(adapter: GpuAdapter, dawnBackend: string): WebgpuAdapterInfo {
  const i = adapter.info;
  const text = [i.vendor, i.architecture, i.device, i.description].join(" ");
  return {
    vendor: i.vendor ?? "",
    architecture: i.architecture ?? "",
    device: i.device ?? "",
    description: i.description ?? "",
    dawnBackend,
    software: i.isFallbackAdapter === true || SOFTWARE.test(text),
  };
}

async function findCandidates(): Promise<Candidate[]> {
  const found: Candidate[] = [];
  // Dawn's default backends (Vulkan, Metal, D3D12): the hardware path.
  const native = dawn!.create([]);
  const a = await native.requestAdapter({ powerPreference: "high-performance" });
  if (a) found.push({ gpu: native, adapter: a, info: describeInfo(a, "native") });
  if (found.some((c) => !c.info.software)) return found;
  // OpenGL ES through EGL with no display: a GPU without a Vulkan driver, or Mesa's llvmpipe. WebGPU's
  // compatibility feature level is what an OpenGL ES device can offer.
  if (process.env.EGL_PLATFORM === undefined) process.env.EGL_PLATFORM = "surfaceless";
  const gles = dawn!.create(["backend=opengles"]);
  const b = await gles.requestAdapter({ featureLevel: "compatibility", powerPreference: "high-performance" });
  if (b) found.push({ gpu: gles, adapter: b, info: describeInfo(b, "opengles") });
  return found;
}

/** Looks for a WebGPU adapter once per process (a hardware one first); loads Dawn when needed. */
export function findWebgpuAdapter(): Promise<WebgpuSearch> {
  search ??= (async () => {
    const why = loadDawn();
    if (why) return { result: { found: false, why, adapter: undefined }, candidate: undefined };
    let candidates: Candidate[];
    try {
      candidates = await findCandidates();
    } catch (e) {
      const message = String(e instanceof Error ? e.message : e).split("\n")[0];
      return { result: { found: false, why: `the WebGPU adapter search failed: ${message}`, adapter: undefined }, candidate: undefined };
    }
    const best = candidates.find((c) => !c.info.software) ?? candidates[0];
    if (best === undefined) return { result: { found: false, why: "Dawn found no WebGPU adapter", adapter: undefined }, candidate: undefined };
    return { result: { found: true, why: "", adapter: best.info }, candidate: best };
  })();
  return search.then((s) => s.result);
}

/**
 * Whether selection may take webgpu on what the search found: a hardware adapter always, a software
 * one only when webgpu was asked for by name. `why` says why not.
 */
export function webgpuUsable(s: WebgpuSearch, forced: boolean): { ok: boolean; why: string } {
  if (!s.found) return { ok: false, why: s.why };
  if (s.adapter!.software && !forced) return { ok: false, why: `webgpu has only a software adapter (${adapterLabel(s.adapter!)}), slower than wasm; SAMFEAT_BACKEND=webgpu forces it` };
  return { ok: true, why: "" };
}

/** "device (vendor architecture, driver description, Dawn backend[, software renderer])". */
export function adapterLabel(a: WebgpuAdapterInfo): string {
  const made = [a.vendor, a.architecture].filter((s) => s !== "").join(" ") || "vendor and architecture not reported";
  const details = [made, a.description, `Dawn ${a.dawnBackend}`, ...(a.software ? ["software renderer"] : [])].filter((s) => s !== "");
  return `${a.device || "unnamed device"} (${details.join(", ")})`;
}

/**
 * Registers the "webgpu" backend on the adapter findWebgpuAdapter found, once per process. The
 * tfjs package is imported only now: it needs navigator.gpu at import and at backend creation, which
 * Node lacks; navigator is set for those moments and removed again, since a global reference to
 * Dawn's GPU object keeps Node from exiting.
 */
export async function registerWebgpuBackend(): Promise<WebgpuAdapterInfo> {
  if (registered !== undefined) return registered;
  await findWebgpuAdapter();
  const { candidate } = await search!;
  if (candidate === undefined) throw new Error("no WebGPU adapter");
  const limits = candidate.adapter.limits;
  const device = await captureDawnTick(() =>
    candidate.adapter.requestDevice({
      // What tfjs-backend-webgpu asks for (the adapter's own limits, not WebGPU's small defaults), and
      // as many storage buffers per shader as there are (Concat and AddN split by that number).
      requiredLimits: Object.fromEntries(
        ["maxStorageBuffersPerShaderStage", "maxComputeWorkgroupStorageSize", "maxComputeWorkgroupsPerDimension", "maxStorageBufferBindingSize", "maxBufferSize", "maxComputeWorkgroupSizeX", "maxComputeInvocationsPerWorkgroup"].map((k) => [k, limits[k]]),
      ),
    }),
  );
  // Errors on the GPU are not exceptions in WebGPU: say them, or a failed shader reads as wrong numbers.
  const reported = new Set<string>();
  device.addEventListener("uncapturederror", (e) => {
    if (reported.has(e.error.message)) return;
    reported.add(e.error.message);
    console.error(`webgpu: ${e.error.message}`);
  });
  void device.lost.then((info) => {
    if (info.message) console.error(`webgpu: device lost: ${info.message}`);
  });
  const g = globalThis as { navigator?: unknown };
  const hadNavigator = "navigator" in g;
  const previous = g.navigator;
  g.navigator = { gpu: candidate.gpu };
  try {
    const pkg = require("@tensorflow/tfjs-backend-webgpu") as { WebGPUBackend: new (device: GpuDevice, info: unknown) => tf.KernelBackend };
    installSyncRead(pkg.WebGPUBackend.prototype as unknown as WebgpuBackendInternals);
    // The package registered a factory of its own at import (one that asks for any adapter, at
    // priority 3): replace it by one on the adapter chosen here, at the lowest priority so that it is
    // only ever used by name.
    if (tf.engine().registryFactory.webgpu !== undefined) tf.removeBackend("webgpu");
    const backend = new pkg.WebGPUBackend(device, candidate.adapter.info);
    tf.registerBackend("webgpu", () => backend, 0);
  } finally {
    if (hadNavigator) g.navigator = previous;
    else delete g.navigator;
  }
  registered = candidate.info;
  return registered;
}

/**
 * dawn.node resolves its promises from a function it hands to setImmediate (its AsyncRunner, which
 * calls Dawn's ProcessEvents). Catching that function while `start` runs gives a way to pump Dawn's
 * events from synchronous code, which is what dataSync needs.
 */
async function captureDawnTick<T>(start: () => Promise<T>): Promise<T> {
  const original = globalThis.setImmediate;
  const spy = function (this: unknown, fn: (...args: unknown[]) => void, ...args: unknown[]) {
    if (typeof fn === "function" && Function.prototype.toString.call(fn).includes("[native code]")) dawnTick = fn as () => void;
    return (original as (...a: unknown[]) => unknown).call(this, fn, ...args);
  };
  globalThis.setImmediate = Object.assign(spy, original) as typeof setImmediate;
  try {
    return await start();
  } finally {
    globalThis.setImmediate = original;
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Blocks until `buffer` is mapped (or its mapping failed), pumping Dawn's events. */
function waitForMapping(buffer: GpuBuffer): void {
  if (dawnTick === undefined) throw new Error("webgpu: dataSync is unavailable: Dawn's event pump was not found (dawn.node changed?); use await data()");
  for (let spins = 0; buffer.mapState === "pending"; spins++) {
    dawnTick();
    // A real GPU may take a while: stop spinning a core after the first few rounds.
    if (spins > 100) Atomics.wait(sleeper, 0, 0, 0.05);
  }
}

/** tfjs's readSync for the webgpu backend without a canvas: copy to a staging buffer, map it, wait. */
function installSyncRead(proto: WebgpuBackendInternals): void {
  if (typeof (globalThis as { OffscreenCanvas?: unknown }).OffscreenCanvas !== "undefined") return;
  proto.readSync = function (this: WebgpuBackendInternals, dataId: object): BackendValues {
    const data = this.tensorMap.get(dataId);
    if (data.values != null || data.dtype === "string") return data.values!;
    if (data.dtype === "complex64") {
      const real = this.readSync(data.complexTensorInfos!.real.dataId) as Float32Array;
      const imag = this.readSync(data.complexTensorInfos!.imag.dataId) as Float32Array;
      return this.convertAndCacheOnCPU(dataId, tf.backend_util.mergeRealAndImagArrays(real, imag));
    }
    const source = data.resource as GpuBuffer;
    const usage = (globalThis as unknown as { GPUBufferUsage: { COPY_DST: number; MAP_READ: number } }).GPUBufferUsage;
    const staging = this.bufferManager.acquireBuffer(source.size, usage.COPY_DST | usage.MAP_READ);
    this.ensureCommandEncoderReady();
    this.endComputePassEncoder();
    this.commandEncoder.copyBufferToBuffer(source, 0, staging, 0, source.size);
    this.submitQueue();
    const mapping = staging.mapAsync((globalThis as unknown as { GPUMapMode: { READ: number } }).GPUMapMode.READ);
    mapping.catch(() => undefined); // a failed mapping shows as mapState below
    waitForMapping(staging);
    if (staging.mapState !== "mapped") {
      this.bufferManager.releaseBuffer(staging);
      throw new Error("webgpu: reading a tensor back failed (its staging buffer could not be mapped)");
    }
    const bytes = staging.getMappedRange().slice(0);
    staging.unmap();
    this.bufferManager.releaseBuffer(staging);
    return this.convertAndCacheOnCPU(dataId, tf.util.convertBackendValuesAndArrayBuffer(bytes, data.dtype));
  };
}
