import * as tf from "@tensorflow/tfjs";
import { withScope } from "./compose";
import { upstreamKernel } from "./registry";

/**
 * Sum over every axis but the last (bias gradients: [B,H,W,C] -> [C]) as XNNPACK average pooling.
 * Upstream wasm reduces innermost axes only, so it first transposes the whole tensor (about 170 ms
 * for a [8,192,192,64] activation gradient, against 7 ms here). Two pooling stages, over the
 * trailing leading axes then over the first, keep each float32 running sum short. Anything else
 * goes to the upstream kernel.
 */
function sum(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap }): tf.TensorInfo {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { axis, keepDims } = args.attrs as unknown as tf.SumAttrs;
  const r = x.shape.length;
  const axes = tf.util.parseAxisParam(axis, x.shape).sort((p, q) => p - q);
  const leading = r >= 2 && axes.length === r - 1 && axes.every((d, i) => d === i);
  if (!leading || x.dtype !== "float32" || tf.util.sizeFromShape(x.shape) === 0) {
    return upstreamKernel("Sum")!.kernelFunc(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  }
  const c = x.shape[r - 1];
  const first = x.shape[0];
  const rest = tf.util.sizeFromShape(x.shape.slice(1, -1));
  return withScope(args.backend, (s) => {
    const pool = (t: tf.TensorInfo, rows: number) =>
      s.run("AvgPool", { x: t }, { filterSize: [rows, 1], strides: [1, 1], pad: "valid" } as unknown as tf.NamedAttrMap);
    const perItem = pool(s.reshape(x, [first, rest, 1, c]), rest); // [first,1,1,C]: means over the rest
    const mean = pool(s.reshape(perItem, [1, first, 1, c]), first); // [1,1,1,C]
    const total = s.run("Multiply", { a: mean, b: s.constant(new Float32Array([first * rest]), []) });
    return s.reshape(total, keepDims ? x.shape.map((d, i) => (i === r - 1 ? d : 1)) : [c]);
  });
}

export const sumConfig: tf.KernelConfig = {
  kernelName: "Sum",
  backendName: "wasm",
  kernelFunc: sum as unknown as tf.KernelFunc,
};
