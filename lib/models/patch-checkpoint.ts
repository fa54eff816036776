// Weights of the patch descriptor networks (lib/models/patch-descriptors.ts):
// - the official DesDis students (data/desdis-weights/desdis-<d>.safetensors: PyTorch state_dicts,
//   conv weights OIHW, BatchNorm running statistics), converted to HWIO on load;
// - the workbench's own checkpoints: one safetensors file (written atomically) with every parameter
//   and running statistic under its PyTorch name in tfjs layout (HWIO), and metadata to rebuild the
//   network: format, architecture, width, seed, dropRate, layout.
import * as tf from "@tensorflow/tfjs";
import { asFloat32, fromFloat32, NamedArray, readSafetensors, writeSafetensors } from "../util/safetensors";
import { createPatchNet, DesDisStudent, oihwToHwio, PatchArchitecture, PatchDescriptorNet } from "./patch-descriptors";

export const PATCH_CHECKPOINT_FORMAT = "samfeat-workbench/patch-descriptor/1";

const RESERVED = ["format", "architecture", "width", "seed", "dropRate", "layout"];

/** PyTorch bookkeeping that carries no weights (BatchNorm's batch counter). */
const IGNORED_SUFFIX = ".num_batches_tracked";

function shapesEqual(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Every tensor of `net` (parameters then running statistics), by name. */
function allTensors(net: PatchDescriptorNet): Map<string, tf.Variable> {
  return new Map([...net.params, ...net.buffers]);
}

/**
 * Load a PyTorch state_dict stored as safetensors (conv weights OIHW) into `net`, converting to HWIO.
 * Every tensor of the network must be present with the PyTorch shape; an unexpected tensor is an
 * error too (num_batches_tracked is ignored). Errors name the file and the tensor.
 */
export function loadPyTorchWeights(net: PatchDescriptorNet, file: string): void {
  const { tensors } = readSafetensors(file);
  const values = new Map<string, Float32Array>();
  for (const [name, v] of allTensors(net)) {
    const t = tensors.get(name);
    if (t === undefined) throw new Error(`${file}: tensor '${name}' is missing (the ${net.architecture} network of width ${net.width} needs it)`);
    const torchShape: number[] = v.rank === 4 ? [v.shape[3]!, v.shape[2]!, v.shape[0]!, v.shape[1]!] : v.shape;
    if (!shapesEqual(t.shape, torchShape)) {
      throw new Error(`${file}: tensor '${name}' has shape [${t.shape}], the ${net.architecture} network of width ${net.width} needs [${torchShape}]`);
    }
    const data = asFloat32(t, `${file}: tensor '${name}'`);
    if (!data.every(Number.isFinite)) throw new Error(`${file}: tensor '${name}' holds non-finite values`);
    values.set(name, v.rank === 4 ? oihwToHwio(data, t.shape) : data);
  }
  for (const name of tensors.keys()) {
    if (!values.has(name) && !name.endsWith(IGNORED_SUFFIX)) {
      throw new Error(`${file}: unexpected tensor '${name}' (not part of the ${net.architecture} network of width ${net.width})`);
    }
  }
  const all = allTensors(net);
  for (const [name, data] of values) {
    const v = all.get(name)!;
    tf.tidy(() => v.assign(tf.tensor(data, v.shape)));
  }
}

/**
 * The official DesDis student in `file` (desdis-<d>.safetensors). The width is read from
 * layer1.1.weight [d,1,3,3]; every other tensor is checked against it.
 */
export function loadDesDisWeights(file: string): DesDisStudent {
  const { tensors } = readSafetensors(file);
  const first = tensors.get("layer1.1.weight");
  if (first === undefined) throw new Error(`${file}: tensor 'layer1.1.weight' is missing: not a DesDis student state_dict`);
  const [d, cin, kh, kw] = first.shape;
  if (first.shape.length !== 4 || cin !== 1 || kh !== 3 || kw !== 3 || !(d >= 1)) {
    throw new Error(`${file}: tensor 'layer1.1.weight' has shape [${first.shape}], expected [d,1,3,3]`);
  }
  const net = new DesDisStudent({ width: d });
  try {
    loadPyTorchWeights(net, file);
  } catch (e) {
    net.dispose();
    throw e;
  }
  return net;
}

/** Save `net`; `meta` (e.g. epoch, loss) is stored as strings beside the network's own keys. */
export function savePatchCheckpoint(file: string, net: PatchDescriptorNet, meta: Record<string, string | number | boolean> = {}): void {
  for (const key of Object.keys(meta)) {
    if (RESERVED.includes(key)) throw new Error(`${file}: checkpoint metadata key '${key}' is reserved`);
  }
  const tensors = new Map<string, NamedArray>();
  for (const [name, v] of allTensors(net)) tensors.set(name, fromFloat32(v.dataSync() as Float32Array, v.shape));
  const metadata: Record<string, string> = {
    format: PATCH_CHECKPOINT_FORMAT,
    architecture: net.architecture,
    width: String(net.width),
    seed: String(net.seed),
    dropRate: String(net.dropRate),
    layout: "NHWC/HWIO",
  };
  for (const [k, v] of Object.entries(meta)) metadata[k] = String(v);
  writeSafetensors(file, tensors, metadata);
}

/** Metadata stored with a patch checkpoint. */
export function patchCheckpointMetadata(file: string): Record<string, string> {
  return readSafetensors(file).metadata;
}

/** Rebuild the network saved in `file`. Errors name the file and, for a bad tensor, the tensor. */
export function loadPatchCheckpoint(file: string): PatchDescriptorNet {
  const { tensors, metadata } = readSafetensors(file);
  if (metadata.format !== PATCH_CHECKPOINT_FORMAT) {
    throw new Error(`${file}: not a patch descriptor checkpoint (format '${metadata.format ?? "missing"}', expected '${PATCH_CHECKPOINT_FORMAT}')`);
  }
  const architecture = metadata.architecture as PatchArchitecture;
  if (architecture !== "l2net" && architecture !== "desdis") {
    throw new Error(`${file}: unknown architecture '${metadata.architecture ?? "missing"}' (expected l2net or desdis)`);
  }
  const width = Number(metadata.width);
  const seed = Number(metadata.seed ?? 0);
  const dropRate = Number(metadata.dropRate);
  if (!Number.isInteger(width) || width < 1 || !Number.isFinite(seed) || !(dropRate >= 0 && dropRate < 1)) {
    throw new Error(`${file}: bad checkpoint metadata width='${metadata.width}' seed='${metadata.seed}' dropRate='${metadata.dropRate}'`);
  }
  let net: PatchDescriptorNet;
  try {
    net = createPatchNet(architecture, { width, seed, dropRate });
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  try {
    const all = allTensors(net);
    for (const [name, v] of all) {
      const t = tensors.get(name);
      if (t === undefined) throw new Error(`${file}: tensor '${name}' is missing`);
      if (!shapesEqual(t.shape, v.shape)) throw new Error(`${file}: tensor '${name}' has shape [${t.shape}], the network needs [${v.shape}]`);
      tf.tidy(() => v.assign(tf.tensor(asFloat32(t, `${file}: tensor '${name}'`), v.shape)));
    }
    for (const name of tensors.keys()) {
      if (!all.has(name)) throw new Error(`${file}: unexpected tensor '${name}' (not part of this ${architecture} network)`);
    }
  } catch (e) {
    net.dispose();
    throw e;
  }
  return net;
}
