import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

// OneHot for wasm that honours `dtype`. Upstream's wasm kernel (tfjs-backend-wasm 4.22) allocates the
// output in the requested dtype but its C++ writes int32 bit patterns, so a float32 one-hot reads
// 1.4e-45 where it should read 1: anything built on it (the descriptor loss's hardest-negative
// gradient) silently became zero. Filled in JS instead; the output is as small as the matrix it indexes.
type Args = Parameters<tf.KernelFunc>[0];

function oneHot(args: Args): tf.TensorInfo {
  const b = args.backend as unknown as BackendWasm;
  const { indices } = args.inputs as { indices: tf.TensorInfo };
  const { dtype, depth, onValue, offValue } = args.attrs as unknown as tf.OneHotAttrs;
  const out = b.makeOutput([...indices.shape, depth], dtype);
  const n = tf.util.sizeFromShape(indices.shape);
  if (n * depth === 0) return out;
  const idx = b.typedArrayFromHeap(indices);
  const dst = b.typedArrayFromHeap(out);
  dst.fill(offValue);
  for (let i = 0; i < n; i++) {
    const k = idx[i];
    if (k >= 0 && k < depth) dst[i * depth + k] = onValue;
  }
  return out;
}

export const oneHotConfig: tf.KernelConfig = { kernelName: "OneHot", backendName: "wasm", kernelFunc: oneHot as tf.KernelFunc };
