import * as tf from "@tensorflow/tfjs";

// Upstream kernels replaced by the project's, kept for fallbacks (cases a replacement does not cover)
// and for side-by-side comparisons.
const replaced = new Map<string, tf.KernelConfig>();

/**
 * Registers `config`, replacing (and remembering) the kernel of the same name and backend. Idempotent:
 * registering the same kernel function again does nothing.
 */
export function replaceKernel(config: tf.KernelConfig): void {
  const current = tf.getKernel(config.kernelName, config.backendName);
  if (current?.kernelFunc === config.kernelFunc) return;
  if (current !== undefined) {
    const key = `${config.backendName}/${config.kernelName}`;
    if (!replaced.has(key)) replaced.set(key, current);
    tf.unregisterKernel(config.kernelName, config.backendName);
  }
  tf.registerKernel(config);
}

/** The upstream kernel that replaceKernel replaced, if any, set up for its backend and ready to call. */
export function upstreamKernel(kernelName: string, backendName = "wasm"): tf.KernelConfig | undefined {
  const config = replaced.get(`${backendName}/${kernelName}`);
  // A kernel unregistered before its backend initialised never had its set-up (e.g. binding its wasm
  // function) run; it only binds functions, so running it again is harmless.
  const backend = tf.findBackend(backendName);
  if (config?.setupFunc !== undefined && backend !== null) config.setupFunc(backend);
  return config;
}
