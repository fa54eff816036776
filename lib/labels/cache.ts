// Keypoint-label cache: one safetensors file per (image, labeler) at
//   <root>/<labeler name>/<key>.safetensors      (default root: data/cache/labels)
// key = sha256 of canonical JSON {image: sha256 of the decoded pixels and size,
// labeler: identity}. The container machinery is the teacher cache's
// (lib/teachers/cache.ts): atomic writes, payload checksum over the tensor
// layout, the other metadata and every tensor byte; a corrupted, truncated or
// foreign entry is reported as invalid, never used.
// Tensors: points F32 [N,2] (x, y), scores F32 [N].
// __metadata__ (all strings): format, key, image_sha256, labeler (identity
// JSON), width, height, created, payload_sha256.
import * as crypto from "node:crypto";
import * as path from "node:path";
import type { RgbImage } from "../data/image";
import { canonicalJson, imageContentHash, readChecksummedEntry, sweepPartialWritesIn, writeChecksummedEntry } from "../teachers/cache";
import { projectPath } from "../util/project";
import { asFloat32, fromFloat32, NamedArray } from "../util/safetensors";
import type { KeypointLabels, Labeler, LabelerIdentity } from "./homographic-adaptation";

export const LABEL_CACHE_FORMAT = "samfeat-label-cache/1";
export const DEFAULT_LABEL_CACHE_DIR = projectPath("data", "cache", "labels");

export interface LabelCacheKey {
  key: string;
  imageHash: string;
  identity: LabelerIdentity;
}

export function labelCacheKey(identity: LabelerIdentity, image: RgbImage): LabelCacheKey {
  const imageHash = imageContentHash(image);
  const key = crypto.createHash("sha256").update(canonicalJson({ image: imageHash, labeler: identity })).digest("hex");
  return { key, imageHash, identity };
}

export type LabelLookup =
  | { status: "hit"; labels: KeypointLabels }
  | { status: "miss" }
  /** The file exists but must not be used: `reason` says why. */
  | { status: "invalid"; reason: string };

export class LabelCache {
  constructor(readonly root: string = DEFAULT_LABEL_CACHE_DIR) {}

  dirFor(identity: LabelerIdentity): string {
    return path.join(this.root, identity.name);
  }

  fileFor(k: LabelCacheKey): string {
    return path.join(this.dirFor(k.identity), `${k.key}.safetensors`);
  }

  read(k: LabelCacheKey): LabelLookup {
    const file = this.fileFor(k);
    const found = readChecksummedEntry(file, LABEL_CACHE_FORMAT);
    if (found.status !== "hit") return found;
    const invalid = (why: string): LabelLookup => ({ status: "invalid", reason: `${file}: ${why}` });
    const m = found.metadata;
    if (m.key !== k.key || m.image_sha256 !== k.imageHash || m.labeler !== canonicalJson(k.identity)) {
      return invalid("entry was written for another image or labeler");
    }
    const points = found.tensors.get("points");
    const scores = found.tensors.get("scores");
    const width = Number(m.width), height = Number(m.height);
    if (
      !points || !scores || points.dtype !== "F32" || scores.dtype !== "F32" || points.shape.length !== 2 || points.shape[1] !== 2 ||
      scores.shape.length !== 1 || scores.shape[0] !== points.shape[0] || !(Number.isInteger(width) && Number.isInteger(height))
    ) {
      return invalid("tensors or size do not match the label layout (points F32 [N,2], scores F32 [N])");
    }
    return { status: "hit", labels: { width, height, points: asFloat32(points, "points"), scores: asFloat32(scores, "scores") } };
  }

  write(k: LabelCacheKey, labels: KeypointLabels): void {
    const n = labels.scores.length;
    const tensors = new Map<string, NamedArray>([
      ["points", fromFloat32(labels.points, [n, 2])],
      ["scores", fromFloat32(labels.scores, [n])],
    ]);
    writeChecksummedEntry(this.fileFor(k), LABEL_CACHE_FORMAT, tensors, {
      key: k.key,
      image_sha256: k.imageHash,
      labeler: canonicalJson(k.identity),
      width: String(labels.width),
      height: String(labels.height),
      created: new Date().toISOString(),
    });
  }

  /** Remove temp files of writers killed mid-write (older than `minAgeMs`). */
  sweepPartialWrites(identity: LabelerIdentity, minAgeMs = 60_000): string[] {
    return sweepPartialWritesIn(this.dirFor(identity), minAgeMs);
  }
}

export interface LabelInput {
  image: RgbImage;
  /** where the image came from (only for messages) */
  file?: string;
}

export interface CachedLabels {
  labels: KeypointLabels;
  /** hit: read from the cache; miss: computed and stored; replaced: an invalid entry was recomputed. */
  status: "hit" | "miss" | "replaced";
  /** why an entry was replaced */
  reason?: string;
}

/** Labels from the cache, or computed and stored when absent or invalid. */
export async function labelsCached(labeler: Labeler, cache: LabelCache, input: LabelInput): Promise<CachedLabels> {
  const k = labelCacheKey(labeler.identity, input.image);
  const found = cache.read(k);
  if (found.status === "hit") return { labels: found.labels, status: "hit" };
  let labels: KeypointLabels;
  try {
    labels = await labeler.label(input.image);
  } catch (e) {
    const msg = (e as Error).message;
    throw new Error(input.file && !msg.startsWith(input.file) ? `${input.file}: ${msg}` : msg);
  }
  cache.write(k, labels);
  return found.status === "invalid" ? { labels, status: "replaced", reason: found.reason } : { labels, status: "miss" };
}

/** Lookup only (never computes): for callers such as training that must not run the labeler. */
export function readCachedLabels(labeler: Pick<Labeler, "identity">, cache: LabelCache, input: LabelInput): LabelLookup {
  return cache.read(labelCacheKey(labeler.identity, input.image));
}
