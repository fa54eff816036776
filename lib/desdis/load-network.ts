// A patch network from a file, whichever of the two kinds it is: a workbench patch checkpoint
// (lib/models/patch-checkpoint.ts, e.g. a run's final.safetensors) or one of the official DesDis
// students (data/desdis-weights/desdis-<d>.safetensors, a PyTorch state_dict).
import * as fs from "node:fs";
import { loadDesDisWeights, loadPatchCheckpoint, PATCH_CHECKPOINT_FORMAT, patchCheckpointMetadata } from "../models/patch-checkpoint";
import type { PatchDescriptorNet } from "../models/patch-descriptors";
import { TRIPLET_LOSSES, TripletLoss } from "./config";
import { fileSha256 } from "../util/file-hash";

export interface LoadedPatchNetwork {
  net: PatchDescriptorNet;
  /** The triplet loss it was trained with, when the file records it (workbench checkpoints). */
  loss?: TripletLoss;
  /** sha256 of the file's bytes. */
  sha256: string;
}

/** Load `file`; errors name the file. */
export function loadPatchNetwork(file: string): LoadedPatchNetwork {
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) throw new Error(`${file}: file not found`);
  const sha256 = fileSha256(file);
  const meta = patchCheckpointMetadata(file);
  if (meta.format === PATCH_CHECKPOINT_FORMAT) {
    const loss = TRIPLET_LOSSES.includes(meta.loss as TripletLoss) ? (meta.loss as TripletLoss) : undefined;
    return { net: loadPatchCheckpoint(file), loss, sha256 };
  }
  return { net: loadDesDisWeights(file), sha256 };
}
