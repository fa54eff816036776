// SamFeatNet checkpoints: one safetensors file (written atomically) holding every
// parameter under its PyTorch name in tfjs layout (conv weights HWIO), and
// metadata that is enough to rebuild the network: format, width, descDim, seed.
import * as tf from "@tensorflow/tfjs";
import { asFloat32, fromFloat32, NamedArray, readSafetensors, writeSafetensors } from "../util/safetensors";
import { SamFeatNet } from "./samfeat";

export const CHECKPOINT_FORMAT = "samfeat-workbench/samfeat-net/1";

const RESERVED = ["format", "width", "descDim", "seed", "layout"];

/** Save the parameters of `net`; `meta` (e.g. epoch, loss) is stored as strings beside the network's own keys. */
export function saveCheckpoint(file: string, net: SamFeatNet, meta: Record<string, string | number | boolean> = {}): void {
  for (const key of Object.keys(meta)) {
    if (RESERVED.includes(key)) throw new Error(`${file}: checkpoint metadata key '${key}' is reserved`);
  }
  const tensors = new Map<string, NamedArray>();
  for (const [name, p] of net.params) tensors.set(name, fromFloat32(p.dataSync() as Float32Array, p.shape));
  const { width, descDim, seed } = net.options;
  const metadata: Record<string, string> = {
    format: CHECKPOINT_FORMAT,
    width: String(width),
    descDim: String(descDim),
    seed: String(seed),
    layout: "NHWC/HWIO",
  };
  for (const [k, v] of Object.entries(meta)) metadata[k] = String(v);
  writeSafetensors(file, tensors, metadata);
}

/** Metadata stored with a checkpoint (the network's keys and the caller's). */
export function checkpointMetadata(file: string): Record<string, string> {
  return readSafetensors(file).metadata;
}

/** Rebuild the network saved in `file`. Throws naming the file and the tensor when one is missing or mis-shaped. */
export function loadCheckpoint(file: string): SamFeatNet {
  const { tensors, metadata } = readSafetensors(file);
  if (metadata.format !== CHECKPOINT_FORMAT) {
    throw new Error(`${file}: not a SamFeatNet checkpoint (format '${metadata.format ?? "missing"}', expected '${CHECKPOINT_FORMAT}')`);
  }
  const width = Number(metadata.width);
  const descDim = Number(metadata.descDim);
  const seed = Number(metadata.seed ?? 0);
  if (!(width > 0) || !Number.isInteger(descDim) || descDim < 1) {
    throw new Error(`${file}: bad checkpoint metadata width='${metadata.width}' descDim='${metadata.descDim}'`);
  }
  const net = new SamFeatNet({ width, descDim, seed });
  try {
    for (const [name, p] of net.params) {
      const t = tensors.get(name);
      if (t === undefined) throw new Error(`${file}: tensor '${name}' is missing`);
      if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
        throw new Error(`${file}: tensor '${name}' has shape [${t.shape}], the network needs [${p.shape}]`);
      }
      tf.tidy(() => p.assign(tf.tensor(asFloat32(t, `${file}: tensor '${name}'`), p.shape)));
    }
    for (const name of tensors.keys()) {
      if (!net.params.has(name)) throw new Error(`${file}: unexpected tensor '${name}' (not a parameter of this network)`);
    }
  } catch (e) {
    net.dispose();
    throw e;
  }
  return net;
}
