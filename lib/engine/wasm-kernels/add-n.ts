import * as tf from "@tensorflow/tfjs";
import { upstreamKernel } from "./registry";

// AddN for webgpu that takes any number of inputs. Upstream binds every input as a storage buffer of
// one shader, and a device allows few per stage (8 by default, 16 on Mesa's OpenGL ES): a sum of more
// tensors (the backward pass accumulates 40+ gradients into one) failed GPU validation and read zeros.
// Sums chunks that fit, then the partial sums.
type Args = Parameters<tf.KernelFunc>[0];

function addN(args: Args): tf.TensorInfo {
  const inputs = args.inputs as unknown as tf.TensorInfo[];
  const backend = args.backend as unknown as tf.KernelBackend & { device: { limits: { maxStorageBuffersPerShaderStage: number } } };
  const upstream = upstreamKernel("AddN", "webgpu")!.kernelFunc;
  const max = Math.max(2, backend.device.limits.maxStorageBuffersPerShaderStage - 1); // one is the output
  if (inputs.length <= max) return upstream(args) as tf.TensorInfo;
  const partials: tf.TensorInfo[] = [];
  for (let i = 0; i < inputs.length; i += max) {
    const chunk = inputs.slice(i, i + max);
    partials.push(chunk.length === 1 ? chunk[0] : (upstream({ ...args, inputs: chunk as unknown as tf.NamedTensorInfoMap }) as tf.TensorInfo));
  }
  const out = addN({ ...args, inputs: partials as unknown as tf.NamedTensorInfoMap });
  for (const p of partials) if (!inputs.includes(p)) backend.disposeData(p.dataId);
  return out;
}

export const addNWebgpuConfig: tf.KernelConfig = { kernelName: "AddN", backendName: "webgpu", kernelFunc: addN as tf.KernelFunc };
