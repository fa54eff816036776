// Backend selection: forcing by option and by SAMFEAT_BACKEND, clear errors, and the one-line report.
import { afterEach, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { BackendName, engineInfo, initEngine } from "../../lib/engine";
import { WASM_TRAINING_KERNELS } from "../../lib/engine/wasm-kernels";
import { adapterLabel, hasGpuDeviceNode, WebgpuAdapterInfo, webgpuUsable } from "../../lib/engine/webgpu";

const ENV = ["SAMFEAT_BACKEND", "SAMFEAT_THREADS", "SAMFEAT_NATIVE"] as const;

afterEach(() => {
  for (const k of ENV) delete process.env[k];
});

function tfjsNodeGpuInstalled(): boolean {
  try {
    require.resolve("@tensorflow/tfjs-node-gpu");
    return true;
  } catch {
    return false;
  }
}

test("forcing cpu by option selects the cpu backend", async () => {
  const info = await initEngine({ backend: "cpu", quiet: true });
  assert.equal(info.backend, "cpu");
  assert.equal(info.reason, "forced by option backend");
  assert.equal(tf.getBackend(), "cpu");
  assert.equal(engineInfo(), info);
});

test("SAMFEAT_BACKEND is honoured, and the option wins over it", async () => {
  process.env.SAMFEAT_BACKEND = "cpu";
  const info = await initEngine({ quiet: true });
  assert.equal(info.backend, "cpu");
  assert.equal(info.reason, "forced by SAMFEAT_BACKEND");
  assert.equal(tf.getBackend(), "cpu");
  process.env.SAMFEAT_NATIVE = "0";
  const forced = await initEngine({ backend: "wasm", quiet: true });
  assert.equal(forced.backend, "wasm");
  assert.equal(tf.getBackend(), "wasm");
});

test("an unknown backend name throws one clear line, from the option or the environment", async () => {
  await assert.rejects(initEngine({ backend: "foo" as BackendName, quiet: true }), {
    message: "backend 'foo' is unknown: choose tensorflow, webgpu, wasm or cpu (from option backend)",
  });
  process.env.SAMFEAT_BACKEND = "gpu";
  await assert.rejects(initEngine({ quiet: true }), {
    message: "backend 'gpu' is unknown: choose tensorflow, webgpu, wasm or cpu (from SAMFEAT_BACKEND)",
  });
});

test("a bad SAMFEAT_THREADS throws one clear line", async () => {
  process.env.SAMFEAT_THREADS = "zero";
  await assert.rejects(initEngine({ quiet: true }), {
    message: "threads must be a positive integer, got 'zero' (from SAMFEAT_THREADS)",
  });
});

test("the tensorflow backend reports why it is unavailable", { skip: tfjsNodeGpuInstalled() && "tfjs-node-gpu is installed here" }, async () => {
  await assert.rejects(initEngine({ backend: "tensorflow", quiet: true }), {
    message: "backend 'tensorflow' cannot load: tfjs-node-gpu not installed (from option backend)",
  });
  // Unforced, selection falls through and says why; without a GPU device webgpu is not even tried.
  process.env.SAMFEAT_NATIVE = "0";
  const info = await initEngine({ quiet: true });
  if (hasGpuDeviceNode()) {
    assert.ok(info.reason.startsWith("tfjs-node-gpu not installed"), info.reason);
  } else {
    assert.equal(info.backend, "wasm");
    assert.equal(info.reason, "tfjs-node-gpu not installed; webgpu: no GPU device (/dev/dri/renderD*, /dev/nvidia*)");
  }
});

test("webgpu is taken on a hardware adapter, on a software one only when forced, and says why not", () => {
  const llvmpipe: WebgpuAdapterInfo = {
    vendor: "", architecture: "", device: "llvmpipe-llvm-15-0-6-256-bits-", description: "OpenGL version OpenGL ES 3.2 Mesa 22.3.6", dawnBackend: "opengles", software: true,
  };
  const gpu: WebgpuAdapterInfo = { vendor: "nvidia", architecture: "ampere", device: "NVIDIA GeForce RTX 3090", description: "NVIDIA driver", dawnBackend: "native", software: false };
  const none = { found: false, why: "Dawn found no WebGPU adapter", adapter: undefined };
  assert.deepEqual(webgpuUsable(none, false), { ok: false, why: "Dawn found no WebGPU adapter" });
  assert.deepEqual(webgpuUsable(none, true), { ok: false, why: "Dawn found no WebGPU adapter" });
  assert.deepEqual(webgpuUsable({ found: true, why: "", adapter: gpu }, false), { ok: true, why: "" });
  assert.deepEqual(webgpuUsable({ found: true, why: "", adapter: llvmpipe }, true), { ok: true, why: "" });
  assert.deepEqual(webgpuUsable({ found: true, why: "", adapter: llvmpipe }, false), {
    ok: false,
    why:
      "webgpu has only a software adapter (llvmpipe-llvm-15-0-6-256-bits- (vendor and architecture not reported, " +
      "OpenGL version OpenGL ES 3.2 Mesa 22.3.6, Dawn opengles, software renderer)), slower than wasm; SAMFEAT_BACKEND=webgpu forces it",
  });
  assert.equal(adapterLabel(gpu), "NVIDIA GeForce RTX 3090 (nvidia ampere, NVIDIA driver, Dawn native)");
});

test("wasm gets the project's training kernels; SAMFEAT_NATIVE=0 keeps native kernels off", async () => {
  process.env.SAMFEAT_NATIVE = "0";
  const info = await initEngine({ backend: "wasm", quiet: true });
  assert.equal(info.native, false);
  assert.equal(info.nativeReason, "disabled by SAMFEAT_NATIVE=0");
  assert.equal(info.threads, 1);
  for (const k of WASM_TRAINING_KERNELS) {
    assert.equal(tf.getKernel(k.kernelName, "wasm")?.kernelFunc, k.kernelFunc, `${k.kernelName} is the project's`);
  }
});

test("a second call with the same options returns the same info; one line is printed per call", async () => {
  process.env.SAMFEAT_NATIVE = "0";
  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => void lines.push(args.join(" "));
  let first, second;
  try {
    first = await initEngine({ backend: "wasm", threads: 1 });
    second = await initEngine({ backend: "wasm", threads: 1 });
  } finally {
    console.log = log;
  }
  assert.equal(second, first);
  assert.deepEqual(lines, [
    "engine: wasm (forced by option backend; native kernels: off: disabled by SAMFEAT_NATIVE=0)",
    "engine: wasm (forced by option backend; native kernels: off: disabled by SAMFEAT_NATIVE=0)",
  ]);
});
