// Loads the PyTorch parity fixture (bench/make_samfeat_fixture.py) as NHWC tensors.
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { asFloat32, readSafetensors } from "../../lib/util/safetensors";

export const FIXTURE = path.resolve(__dirname, "../fixtures/samfeat/width0.25.safetensors");

export interface TorchFixture {
  width: number;
  params: number;
  /** NCHW/OIHW tensors by name, as PyTorch stored them. */
  raw: Map<string, tf.Tensor>;
}

export function loadFixture(): TorchFixture {
  const f = readSafetensors(FIXTURE);
  const raw = new Map<string, tf.Tensor>();
  for (const [name, t] of f.tensors) raw.set(name, tf.tensor(asFloat32(t, name), t.shape));
  return { width: Number(f.metadata.width), params: Number(f.metadata.params), raw };
}

/** PyTorch layouts to tfjs ones: conv OIHW -> HWIO, activations NCHW -> NHWC; others unchanged. */
export function toTfLayout(t: tf.Tensor, isConvWeight: boolean): tf.Tensor {
  if (t.rank !== 4) return t.clone();
  return tf.transpose(t, isConvWeight ? [2, 3, 1, 0] : [0, 2, 3, 1]);
}
