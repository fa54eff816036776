// Teacher cache: one safetensors file per (image, teacher) at
//   <root>/<teacher name>/<key>.safetensors      (default root: data/cache/teachers)
// key = sha256 of {image pixel hash, teacher identity, teacher source key}, so a
// changed image, parameter, model file or annotation gives a new entry.
// Tensors: embedding F32 [h,w,C], groups I32 [H,W], edges F32 [H,W].
// __metadata__ (all strings): format, key, image_sha256, source_key,
// teacher (identity JSON), payload_sha256, created.
// payload_sha256 = sha256 over the tensor layout, the other metadata and the
// tensor bytes, so a flipped byte anywhere, a truncated file or an entry written
// for something else is detected; such an entry is reported, never used.
// Files are written atomically (temp file + rename): a killed writer leaves no
// entry, or a complete one, plus at worst a temp file that sweepPartialWrites removes.
// The container machinery (readChecksummedEntry, writeChecksummedEntry,
// sweepPartialWritesIn) is generic: lib/labels/cache.ts stores keypoint labels
// with it under another root and format name.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { RgbImage } from "../data/image";
import { asFloat32, DType, encodeSafetensors, NamedArray, readSafetensors, SafetensorsError } from "../util/safetensors";
import { writeFileAtomicSync } from "../util/atomic";
import { projectPath } from "../util/project";
import type { Teacher, TeacherIdentity, TeacherInput, TeacherOutput } from "./teacher";

export const CACHE_FORMAT = "samfeat-teacher-cache/1";
export const DEFAULT_CACHE_DIR = projectPath("data", "cache", "teachers");

/** sha256 of the decoded pixels and size: the same picture re-encoded or renamed keeps its hash. */
export function imageContentHash(img: RgbImage): string {
  return crypto
    .createHash("sha256")
    .update(`${img.width}x${img.height}x3:`)
    .update(img.data)
    .digest("hex");
}

/** JSON with object keys sorted, so equal identities give equal strings. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_, v) =>
    v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v,
  );
}

export interface CacheKey {
  key: string;
  imageHash: string;
  sourceKey: string;
  identity: TeacherIdentity;
}

export function cacheKey(teacher: Teacher, input: TeacherInput): CacheKey {
  const imageHash = imageContentHash(input.image);
  const sourceKey = teacher.sourceKey(input);
  const key = crypto
    .createHash("sha256")
    .update(canonicalJson({ image: imageHash, teacher: teacher.identity, source: sourceKey }))
    .digest("hex");
  return { key, imageHash, sourceKey, identity: teacher.identity };
}

export type CacheLookup =
  | { status: "hit"; output: TeacherOutput }
  | { status: "miss" }
  /** The file exists but must not be used: `reason` says why. */
  | { status: "invalid"; reason: string };

function payloadChecksum(tensors: Map<string, NamedArray>, metadata: Record<string, string>): string {
  const { payload_sha256: _, ...rest } = metadata;
  const hash = crypto.createHash("sha256");
  hash.update(canonicalJson({ layout: [...tensors].map(([n, t]) => [n, t.dtype, t.shape]), metadata: rest }));
  for (const t of tensors.values()) hash.update(t.data);
  return hash.digest("hex");
}

function asInt32(t: NamedArray): Int32Array {
  return new Int32Array(new Uint8Array(t.data).buffer);
}

function entry(dtype: DType, shape: number[], values: Float32Array | Int32Array): NamedArray {
  return { dtype, shape, data: new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength)) };
}

// ---- Generic checksummed entries (shared with the keypoint-label cache, lib/labels/cache.ts) ----

export type EntryLookup =
  | { status: "hit"; tensors: Map<string, NamedArray>; metadata: Record<string, string> }
  | { status: "miss" }
  /** The file exists but must not be used: `reason` says why. */
  | { status: "invalid"; reason: string };

/**
 * Read one entry: miss when the file does not exist; invalid when it does not parse, has another
 * `format` or fails its payload checksum. The caller checks the metadata that ties it to its key.
 */
export function readChecksummedEntry(file: string, format: string): EntryLookup {
  if (!fs.existsSync(file)) return { status: "miss" };
  let f;
  try {
    f = readSafetensors(file);
  } catch (e) {
    if (e instanceof SafetensorsError) return { status: "invalid", reason: e.message };
    throw e;
  }
  const m = f.metadata;
  const invalid = (why: string): EntryLookup => ({ status: "invalid", reason: `${file}: ${why}` });
  if (m.format !== format) return invalid(`format "${m.format}", expected "${format}"`);
  if (m.payload_sha256 !== payloadChecksum(f.tensors, m)) return invalid("checksum mismatch (corrupted entry)");
  return { status: "hit", tensors: f.tensors, metadata: m };
}

/**
 * Write one entry atomically: metadata = {format, ...metadata (in its order), payload_sha256}, the
 * checksum covering the tensor layout, the other metadata and every tensor byte.
 */
export function writeChecksummedEntry(file: string, format: string, tensors: Map<string, NamedArray>, metadata: Record<string, string>): void {
  const m: Record<string, string> = { format, ...metadata };
  m.payload_sha256 = payloadChecksum(tensors, m);
  writeFileAtomicSync(file, encodeSafetensors(tensors, m));
}

/** Remove `<64 hex>.safetensors.<digits>` temp files older than `minAgeMs` in `dir`; returns the removed paths. */
export function sweepPartialWritesIn(dir: string, minAgeMs = 60_000): string[] {
  if (!fs.existsSync(dir)) return [];
  const now = Date.now();
  const removed: string[] = [];
  for (const name of fs.readdirSync(dir)) {
    if (!/^[0-9a-f]{64}\.safetensors\.\d+$/.test(name)) continue;
    const file = path.join(dir, name);
    try {
      if (now - fs.statSync(file).mtimeMs >= minAgeMs) {
        fs.unlinkSync(file);
        removed.push(file);
      }
    } catch {
      // Renamed or removed meanwhile by its writer: nothing to sweep.
    }
  }
  return removed;
}

export class TeacherCache {
  constructor(readonly root: string = DEFAULT_CACHE_DIR) {}

  dirFor(identity: TeacherIdentity): string {
    return path.join(this.root, identity.name);
  }

  fileFor(k: CacheKey): string {
    return path.join(this.dirFor(k.identity), `${k.key}.safetensors`);
  }

  read(k: CacheKey): CacheLookup {
    const file = this.fileFor(k);
    const found = readChecksummedEntry(file, CACHE_FORMAT);
    if (found.status !== "hit") return found;
    const invalid = (why: string): CacheLookup => ({ status: "invalid", reason: `${file}: ${why}` });
    const m = found.metadata;
    if (m.key !== k.key || m.image_sha256 !== k.imageHash || m.source_key !== k.sourceKey || m.teacher !== canonicalJson(k.identity)) {
      return invalid("entry was written for another image or teacher");
    }
    const emb = found.tensors.get("embedding");
    const groups = found.tensors.get("groups");
    const edges = found.tensors.get("edges");
    if (!emb || !groups || !edges) return invalid("missing one of the tensors embedding, groups, edges");
    const [H, W] = groups.shape;
    if (emb.dtype !== "F32" || emb.shape.length !== 3 || groups.dtype !== "I32" || groups.shape.length !== 2 || edges.dtype !== "F32" || edges.shape[0] !== H || edges.shape[1] !== W) {
      return invalid("tensor dtypes or shapes do not match the teacher output layout");
    }
    return {
      status: "hit",
      output: {
        height: H,
        width: W,
        embedding: asFloat32(emb, "embedding"),
        embeddingShape: emb.shape as [number, number, number],
        groups: asInt32(groups),
        edges: asFloat32(edges, "edges"),
      },
    };
  }

  write(k: CacheKey, out: TeacherOutput): void {
    const tensors = new Map<string, NamedArray>([
      ["embedding", entry("F32", out.embeddingShape, out.embedding)],
      ["groups", entry("I32", [out.height, out.width], out.groups)],
      ["edges", entry("F32", [out.height, out.width], out.edges)],
    ]);
    writeChecksummedEntry(this.fileFor(k), CACHE_FORMAT, tensors, {
      key: k.key,
      image_sha256: k.imageHash,
      source_key: k.sourceKey,
      teacher: canonicalJson(k.identity),
      created: new Date().toISOString(),
    });
  }

  /**
   * Remove temp files left by writers killed mid-write (older than `minAgeMs`,
   * so a concurrent writer's file is left alone). Returns the removed paths.
   */
  sweepPartialWrites(identity: TeacherIdentity, minAgeMs = 60_000): string[] {
    return sweepPartialWritesIn(this.dirFor(identity), minAgeMs);
  }
}

export interface CachedTeach {
  output: TeacherOutput;
  /** hit: read from the cache; miss: computed and stored; replaced: an invalid entry was recomputed. */
  status: "hit" | "miss" | "replaced";
  /** Why an entry was replaced. */
  reason?: string;
}

/** The teacher output from the cache, or computed and stored when absent or invalid. */
export async function teachCached(teacher: Teacher, cache: TeacherCache, input: TeacherInput): Promise<CachedTeach> {
  const k = cacheKey(teacher, input);
  const found = cache.read(k);
  if (found.status === "hit") return { output: found.output, status: "hit" };
  const output = await teacher.teach(input);
  cache.write(k, output);
  return found.status === "invalid" ? { output, status: "replaced", reason: found.reason } : { output, status: "miss" };
}
