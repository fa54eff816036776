import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { upstreamKernel } from "./registry";

/**
 * Slice and SplitV for wasm as copies of contiguous runs on the heap. Upstream wasm copies a non-contiguous
 * 4-D slice element by element in JavaScript (about 65 ms to crop one pixel off a [8,192,192,64]
 * activation, which the network's stride-4 downsampling does every step); whole runs of the
 * innermost copied axes move at memcpy speed.
 */
function slice(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap }): tf.TensorInfo {
  const { x } = args.inputs as { x: tf.TensorInfo };
  if (x.dtype === "string") return upstreamKernel("Slice")!.kernelFunc(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  const attrs = args.attrs as unknown as tf.SliceAttrs;
  const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, attrs.begin, attrs.size);
  tf.slice_util.assertParamsValid(x as tf.Tensor, begin, size);
  return copyRuns(args.backend as unknown as BackendWasm, x, begin, size);
}

/** SplitV (the gradient of a concatenation) as one such slice per part. */
function splitV(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap }): tf.TensorInfo[] {
  const { x } = args.inputs as { x: tf.TensorInfo };
  if (x.dtype === "string") return upstreamKernel("SplitV")!.kernelFunc(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo[];
  const attrs = args.attrs as unknown as tf.SplitVAttrs;
  const axis = tf.util.parseAxisParam(attrs.axis, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, attrs.numOrSizeSplits, axis);
  const begin = x.shape.map(() => 0);
  return sizes.map((part) => {
    const size = [...x.shape];
    size[axis] = part;
    const out = copyRuns(args.backend as unknown as BackendWasm, x, [...begin], size);
    begin[axis] += part;
    return out;
  });
}

function copyRuns(b: BackendWasm, x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
  const out = b.makeOutput(size, x.dtype);
  const total = tf.util.sizeFromShape(size);
  if (total === 0) return out;
  const src = b.typedArrayFromHeap(x);
  const dst = b.typedArrayFromHeap(out);
  const rank = x.shape.length;
  const strides = tf.util.computeStrides(x.shape); // elements per step along axes 0..rank-2
  // The innermost axes taken whole, plus the last partial one, form one contiguous run.
  let last = -1;
  for (let d = 0; d < rank; d++) if (size[d] !== x.shape[d]) last = d;
  if (last < 0) {
    dst.set(src.subarray(0, total));
    return out;
  }
  const step = last < rank - 1 ? strides[last] : 1;
  const run = size[last] * step;
  const index = new Array<number>(last).fill(0); // position along axes 0..last-1 within the slice
  for (let o = 0; o < total; o += run) {
    let from = begin[last] * step;
    for (let d = 0; d < last; d++) from += (begin[d] + index[d]) * strides[d];
    dst.set(src.subarray(from, from + run), o);
    for (let d = last - 1; d >= 0; d--) {
      if (++index[d] < size[d]) break;
      index[d] = 0;
    }
  }
  return out;
}

export const splitVConfig: tf.KernelConfig = {
  kernelName: "SplitV",
  backendName: "wasm",
  kernelFunc: splitV as unknown as tf.KernelFunc,
};

export const sliceConfig: tf.KernelConfig = {
  kernelName: "Slice",
  backendName: "wasm",
  kernelFunc: slice as unknown as tf.KernelFunc,
};
