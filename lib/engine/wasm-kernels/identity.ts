import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { upstreamKernel } from "./registry";

// Identity and same-dtype Cast only give a tensor a new handle (tfjs tensors are immutable), yet upstream
// wasm copies the data. tfjs-core clones every tensor it saves for the backward pass through Identity, so
// a training step copied each saved activation once more. Here the new dataId shares the input's heap
// block instead. `sharers` counts, per block, the dataIds beyond the first; the backend's disposeData is
// wrapped so a shared block is freed with its last dataId.
const sharers = new Map<number, number>();
const wrappedBackends = new WeakSet<BackendWasm>();

function shareInputMemory(b: BackendWasm, x: tf.TensorInfo, dtype: tf.DataType): tf.TensorInfo {
  if (!wrappedBackends.has(b)) {
    const dispose = b.disposeData.bind(b);
    b.disposeData = (dataId: object, force = false): boolean => {
      const d = b.dataIdMap.get(dataId);
      const shared = d ? sharers.get(d.memoryOffset) : undefined;
      if (!d || shared === undefined) return dispose(dataId, force);
      d.refCount--;
      if (!force && d.refCount > 0) return false;
      // Unregister this handle only; the block stays for the other sharers.
      (b.wasm as unknown as { tfjs: { disposeData(id: number): void } }).tfjs.disposeData(d.id);
      b.dataIdMap.delete(dataId);
      if (shared <= 1) sharers.delete(d.memoryOffset);
      else sharers.set(d.memoryOffset, shared - 1);
      return true;
    };
    wrappedBackends.add(b);
  }
  const off = b.dataIdMap.get(x.dataId)!.memoryOffset;
  sharers.set(off, (sharers.get(off) ?? 0) + 1);
  return b.makeOutput(x.shape, dtype, off);
}

type Args = Parameters<tf.KernelFunc>[0];

function identity(args: Args): tf.TensorInfo {
  const { x } = args.inputs as { x: tf.TensorInfo };
  if (x.dtype === "string" || tf.util.sizeFromShape(x.shape) === 0) return upstreamKernel("Identity")!.kernelFunc(args) as tf.TensorInfo;
  return shareInputMemory(args.backend as unknown as BackendWasm, x, x.dtype);
}

function cast(args: Args): tf.TensorInfo {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { dtype } = args.attrs as unknown as tf.CastAttrs;
  if (dtype !== x.dtype || x.dtype === "string" || tf.util.sizeFromShape(x.shape) === 0) {
    return upstreamKernel("Cast")!.kernelFunc(args) as tf.TensorInfo;
  }
  return shareInputMemory(args.backend as unknown as BackendWasm, x, dtype);
}

export const identityConfig: tf.KernelConfig = { kernelName: "Identity", backendName: "wasm", kernelFunc: identity as tf.KernelFunc };
export const castConfig: tf.KernelConfig = { kernelName: "Cast", backendName: "wasm", kernelFunc: cast as tf.KernelFunc };
