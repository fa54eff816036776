import * as tf from "@tensorflow/tfjs";
import { conv2dBackpropFilterConfig } from "./conv2d-backprop-filter";
import { conv2dBackpropInputConfig } from "./conv2d-backprop-input";
import { addNWebgpuConfig } from "./add-n";
import { avgPoolGradConfig } from "./avg-pool-grad";
import { castConfig, identityConfig } from "./identity";
import { maxPoolGradConfig } from "./max-pool-grad";
import { oneHotConfig } from "./one-hot";
import { replaceKernel } from "./registry";
import { resizeBilinearGradCpuConfig, resizeBilinearGradWasmConfig, resizeBilinearGradWebgpuConfig } from "./resize-bilinear-grad";
import { sliceConfig, splitVConfig } from "./slice";
import { sumConfig } from "./sum";

export { upstreamKernel } from "./registry";

/** The project's training kernels for the wasm backend (new ones, and faster or fixed upstream ones). */
export const WASM_TRAINING_KERNELS: readonly tf.KernelConfig[] = [
  conv2dBackpropFilterConfig,
  conv2dBackpropInputConfig,
  maxPoolGradConfig,
  avgPoolGradConfig,
  resizeBilinearGradWasmConfig,
  sliceConfig,
  splitVConfig,
  sumConfig,
  identityConfig,
  castConfig,
  oneHotConfig,
];

/** Fixes of upstream cpu gradient kernels, so cpu and wasm train the same way. */
const CPU_KERNEL_FIXES: readonly tf.KernelConfig[] = [resizeBilinearGradCpuConfig];

/**
 * Fixes of tfjs-backend-webgpu kernels. Of the kernels replaced for wasm above, webgpu has all, and
 * only ResizeBilinearGrad computes differently: like cpu and wasm upstream it ignores halfPixelCenters.
 * Its OneHot honours the dtype; Conv2DBackprop*, MaxPoolGrad, AvgPoolGrad, Slice, SplitV, Sum,
 * Identity and Cast agree with PyTorch (test/engine/webgpu.test.ts). Beyond those, webgpu's AddN
 * fails on more inputs than a shader may bind.
 */
export const WEBGPU_KERNEL_FIXES: readonly tf.KernelConfig[] = [resizeBilinearGradWebgpuConfig, addNWebgpuConfig];

/** Registers the webgpu fixes; call after importing tfjs-backend-webgpu (its import registers its own). */
export function registerWebgpuKernelFixes(): void {
  for (const config of WEBGPU_KERNEL_FIXES) replaceKernel(config);
}

/**
 * Registers the wasm training kernels and the cpu fixes, replacing upstream kernels of the same name
 * (kept for upstreamKernel). Idempotent. Returns the names of the wasm kernels.
 */
export function registerTrainingKernels(): string[] {
  for (const config of [...WASM_TRAINING_KERNELS, ...CPU_KERNEL_FIXES]) replaceKernel(config);
  return WASM_TRAINING_KERNELS.map((k) => k.kernelName);
}
