// SamFeatNet checkpoints: one safetensors file (written atomically) holding every
// parameter under its PyTorch name in tfjs layout (conv weights HWIO), and
// metadata that is enough to rebuild the network: format, width, descDim, seed, eag (which paths are on).
import * as tf from "@tensorflow/tfjs";
import { asFloat32, fromFloat32, NamedArray, readSafetensors, writeSafetensors } from "../util/safetensors";
import { SamFeatNet, samfeatConvs, SamFeatOptions } from "./samfeat";

export const CHECKPOINT_FORMAT = "samfeat-workbench/samfeat-net/1";

const RESERVED = ["format", "width", "descDim", "seed", "eag", "layout"];

/** Tensors under this prefix are training state (optimizer moments), not network parameters. */
export const STATE_PREFIX = "optimizer.";

/**
 * Save the parameters of `net`; `meta` (e.g. step, loss) is stored as strings beside the network's
 * own keys. `state` tensors (an optimizer's) are stored under "optimizer.<key>" in the same file, so
 * one atomic write keeps a resumable run consistent; loadCheckpoint ignores them.
 */
export function saveCheckpoint(
  file: string,
  net: SamFeatNet,
  meta: Record<string, string | number | boolean> = {},
  state: Map<string, tf.Tensor> = new Map(),
): void {
  for (const key of Object.keys(meta)) {
    if (RESERVED.includes(key)) throw new Error(`${file}: checkpoint metadata key '${key}' is reserved`);
  }
  const tensors = new Map<string, NamedArray>();
  for (const [name, p] of net.params) tensors.set(name, fromFloat32(p.dataSync() as Float32Array, p.shape));
  for (const [key, t] of state) tensors.set(`${STATE_PREFIX}${key}`, fromFloat32(t.dataSync() as Float32Array, t.shape));
  const { width, descDim, seed, eag } = net.options;
  const metadata: Record<string, string> = {
    format: CHECKPOINT_FORMAT,
    width: String(width),
    descDim: String(descDim),
    seed: String(seed),
    eag: String(eag),
    layout: "NHWC/HWIO",
  };
  for (const [k, v] of Object.entries(meta)) metadata[k] = String(v);
  writeSafetensors(file, tensors, metadata);
}

/** Metadata stored with a checkpoint (the network's keys and the caller's). */
export function checkpointMetadata(file: string): Record<string, string> {
  return readSafetensors(file).metadata;
}

/** The network options a checkpoint's metadata records; throws naming the file when it is not a SamFeatNet checkpoint. */
function checkpointOptions(file: string, metadata: Record<string, string>): Required<SamFeatOptions> {
  if (metadata.format !== CHECKPOINT_FORMAT) {
    throw new Error(`${file}: not a SamFeatNet checkpoint (format '${metadata.format ?? "missing"}', expected '${CHECKPOINT_FORMAT}')`);
  }
  const width = Number(metadata.width);
  const descDim = Number(metadata.descDim);
  const seed = Number(metadata.seed ?? 0);
  // Checkpoints written before the EAG switch existed always had the EAG paths.
  const eag = (metadata.eag ?? "true") === "true";
  if (!(width > 0) || !Number.isInteger(descDim) || descDim < 1 || !["true", "false", undefined].includes(metadata.eag)) {
    throw new Error(`${file}: bad checkpoint metadata width='${metadata.width}' descDim='${metadata.descDim}' eag='${metadata.eag}'`);
  }
  return { width, descDim, seed, eag };
}

/**
 * Check that `file` is a complete SamFeatNet checkpoint without building the network (no tensors are
 * made, so it can run before the engine starts): its format, its metadata, and every parameter present
 * with its shape. Returns the network options and the metadata; throws naming the file otherwise.
 */
export function inspectCheckpoint(file: string): { options: Required<SamFeatOptions>; metadata: Record<string, string> } {
  const { tensors, metadata } = readSafetensors(file);
  const options = checkpointOptions(file, metadata);
  const expected = new Map<string, number[]>();
  for (const { name, k, cin, cout } of samfeatConvs(options)) {
    expected.set(`${name}.weight`, [k, k, cin, cout]);
    expected.set(`${name}.bias`, [cout]);
    if (name === "h.3") expected.set("hw", [4]);
  }
  for (const [name, shape] of expected) {
    const t = tensors.get(name);
    if (t === undefined) throw new Error(`${file}: tensor '${name}' is missing`);
    if (t.dtype !== "F32" || t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new Error(`${file}: tensor '${name}' is ${t.dtype} [${t.shape}], the network needs F32 [${shape}]`);
    }
  }
  for (const name of tensors.keys()) {
    if (!expected.has(name) && !name.startsWith(STATE_PREFIX)) throw new Error(`${file}: unexpected tensor '${name}' (not a parameter of this network)`);
  }
  return { options, metadata };
}

/** Rebuild the network saved in `file`. Throws naming the file and the tensor when one is missing or mis-shaped. */
export function loadCheckpoint(file: string): SamFeatNet {
  const { tensors, metadata } = readSafetensors(file);
  const net = new SamFeatNet(checkpointOptions(file, metadata));
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
      if (!net.params.has(name) && !name.startsWith(STATE_PREFIX)) throw new Error(`${file}: unexpected tensor '${name}' (not a parameter of this network)`);
    }
  } catch (e) {
    net.dispose();
    throw e;
  }
  return net;
}

/** The training state saved with a checkpoint (keys without the "optimizer." prefix). */
export function readCheckpointState(file: string): { metadata: Record<string, string>; state: Map<string, { shape: number[]; values: Float32Array }> } {
  const { tensors, metadata } = readSafetensors(file);
  const state = new Map<string, { shape: number[]; values: Float32Array }>();
  for (const [name, t] of tensors) {
    if (name.startsWith(STATE_PREFIX)) state.set(name.slice(STATE_PREFIX.length), { shape: t.shape, values: asFloat32(t, `${file}: tensor '${name}'`) });
  }
  return { metadata, state };
}
