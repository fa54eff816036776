import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

/**
 * AvgPoolGrad for wasm as one pass over the heap: each dy spreads dy / (kh * kw) over its window's
 * in-bounds pixels (tfjs's definition: the divisor counts padding too). Upstream wasm takes ~200 ms
 * on the network's stride-4 downsampling of a [8,192,192,64] activation; this loop ~30 ms.
 */
function avgPoolGrad(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap }): tf.TensorInfo {
  const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const attrs = args.attrs as unknown as tf.AvgPoolGradAttrs;
  const b = args.backend as unknown as BackendWasm;
  const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad);
  const { batchSize, inHeight: h, inWidth: w, inChannels: c, outHeight: ho, outWidth: wo } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const dx = b.makeOutput(input.shape, "float32");
  const out = b.typedArrayFromHeap(dx) as Float32Array;
  const g = b.typedArrayFromHeap(dy) as Float32Array; // read after makeOutput: the heap may have grown
  out.fill(0);
  const scale = 1 / (kh * kw);
  for (let n = 0; n < batchSize; n++)
    for (let oy = 0; oy < ho; oy++)
      for (let ox = 0; ox < wo; ox++) {
        const from = ((n * ho + oy) * wo + ox) * c;
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * sh - info.padInfo.top + ky;
          if (iy < 0 || iy >= h) continue;
          for (let kx = 0; kx < kw; kx++) {
            const ix = ox * sw - info.padInfo.left + kx;
            if (ix < 0 || ix >= w) continue;
            const to = ((n * h + iy) * w + ix) * c;
            for (let ch = 0; ch < c; ch++) out[to + ch] += g[from + ch] * scale;
          }
        }
      }
  return dx;
}

export const avgPoolGradConfig: tf.KernelConfig = {
  kernelName: "AvgPoolGrad",
  backendName: "wasm",
  kernelFunc: avgPoolGrad as unknown as tf.KernelFunc,
};
