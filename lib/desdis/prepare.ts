// What every DesDis run of one image folder needs before its first step: the training images with
// their keypoint pseudo-labels (computed into the label cache when missing) and the held-out patch
// set (built into the cache once). `npm run distill` prepares it for one run, the study once for all.
import * as path from "node:path";
import { createHomographicLabeler } from "../labels/homographic-adaptation";
import { LabelCache, labelsCached } from "../labels/cache";
import { splitImages } from "../training/sources";
import { PROJECT_ROOT } from "../util/project";
import type { DistillConfig } from "./config";
import { heldOutCached, HeldOutOptions, HeldOutSet, KeypointLookup } from "./held-out";
import type { PatchSource } from "./patch-pairs";
import { loadPatchSources } from "./sources";

export interface DistillInputs {
  sources: PatchSource[];
  heldOut: HeldOutSet;
  /** how the image folder was split, e.g. "train/ and test/ for training, val/ held back" */
  rule: string;
  heldOutFile: string;
  heldOutBuilt: boolean;
}

/** Thrown when the config's image folder cannot be split into training images (a usage problem). */
export class ImageFolderError extends Error {}

/** The keypoint labels of any image, from `cacheRoot`/labels (computed there when missing). */
async function labelLookup(cacheRoot: string): Promise<{ identity: unknown; lookup: KeypointLookup }> {
  const labeler = await createHomographicLabeler();
  const labelCache = new LabelCache(path.join(cacheRoot, "labels"));
  const lookup: KeypointLookup = async (image, file) => (await labelsCached(labeler, labelCache, { image, file })).labels.points;
  return { identity: labeler.identity, lookup };
}

/**
 * The held-out patch set of `heldOut` options, from `cacheRoot`/desdis (built there first when
 * missing, with `labels`, by default the label cache's lookup).
 */
export async function prepareHeldOut(
  heldOut: HeldOutOptions,
  cacheRoot: string,
  opts: { quiet?: boolean; labels?: Awaited<ReturnType<typeof labelLookup>> } = {},
): Promise<{ set: HeldOutSet; file: string; built: boolean }> {
  const roots = heldOut.roots.map((r) => path.resolve(PROJECT_ROOT, r));
  return heldOutCached(path.join(cacheRoot, "desdis"), { ...heldOut, roots }, opts.labels ?? (await labelLookup(cacheRoot)), { quiet: opts.quiet });
}

/** Images, labels and held-out set of `config` (its data.images and heldOut), from `cacheRoot` (labels/, desdis/). */
export async function prepareDistillData(config: DistillConfig, cacheRoot: string, opts: { quiet?: boolean } = {}): Promise<DistillInputs> {
  let split;
  try {
    split = splitImages(path.resolve(PROJECT_ROOT, config.data.images));
  } catch (e) {
    throw new ImageFolderError((e as Error).message);
  }
  const labels = await labelLookup(cacheRoot);
  const sources = await loadPatchSources(split.train, labels.lookup, opts);
  const heldOut = await prepareHeldOut(config.heldOut, cacheRoot, { ...opts, labels });
  return { sources, heldOut: heldOut.set, rule: split.rule, heldOutFile: heldOut.file, heldOutBuilt: heldOut.built };
}
