// The held-out patch set: patches cut the way training patches are (lib/desdis/patch-pairs.ts) from
// HPatches-layout sequences that are never trained on (data/synthetic-hpatches, data/hpatches-sample),
// with their real viewpoint and illumination changes instead of a sampled homography:
//   - per sequence, `keypointsPerSequence` keypoint pseudo-labels of image 1 (the training labeler),
//     at least minSeparation px apart, whose supports fit in every image of the sequence: the classes;
//   - per class, its patch in image 1 (the reference) and in each image k at H_1k(p), support scaled
//     by the local scale of H_1k, each jittered and noised as in training;
//   - verification pairs: every (reference, image k) patch pair of a class is a positive; each has one
//     negative, the reference against image k's patch of another class, alternately of the same
//     sequence and of another one.
// Everything is drawn from seeds (seedFor(seed, sequence index, ...)), so the set is a pure function
// of its options and the files; it is written once to a cache file (safetensors, atomic) whose name
// carries a hash of the options, the labeler and the bytes of every file it was cut from, and read
// back from there: every evaluation sees the same patches.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { readHPatches } from "../data/hpatches";
import { readRgb, RgbImage } from "../data/image";
import { applyToPoint, Homography, IDENTITY } from "../geometry/homography";
import { Rng } from "../geometry/random";
import { PATCH_SIZE } from "../models/patch-descriptors";
import { canonicalJson } from "../teachers/cache";
import { seedFor } from "../training/schedule";
import { progressBar } from "../util/progress";
import { NamedArray, readSafetensors, writeSafetensors } from "../util/safetensors";
import { addNoise, jitterFrame, JitterOptions, NoiseOptions } from "./patch-augment";
import { cutPatch, greyFloat, GreyFloat, localScale, PatchFrame, supportInside } from "./patch-cut";

export const HELD_OUT_FORMAT = "samfeat-workbench/desdis-held-out/1";
const PIXELS = PATCH_SIZE * PATCH_SIZE;

export interface HeldOutOptions {
  /** HPatches-layout folders (relative to the project root when inside it). */
  roots: string[];
  keypointsPerSequence: number;
  support: number;
  scaleRange: [number, number];
  minSeparation: number;
  jitter: JitterOptions;
  noise: NoiseOptions;
  seed: number;
}

/** Keypoint pseudo-labels [N,2] (x, y) of an image, best first. */
export type KeypointLookup = (image: RgbImage, file: string) => Promise<Float32Array>;

export interface HeldOutSet {
  /** [M,32,32] grey 0..255 (rounded: the cache stores bytes). */
  patches: Uint8Array;
  /** [M] sequence index, image number (1 = reference) and class of each patch. */
  sequence: Int32Array;
  image: Int32Array;
  cls: Int32Array;
  /** [P,2] patch indices of each verification pair, [P] 1 for a match. */
  pairs: Int32Array;
  labels: Uint8Array;
  /** Sequence names, "<root folder>/<sequence>". */
  sequences: string[];
}

export function heldOutCount(set: HeldOutSet): number {
  return set.sequence.length;
}

interface Cut {
  seq: number;
  image: number;
  cls: number;
  values: Float32Array;
}

/** The options with each root reduced to its folder name: the key and the file carry no machine path. */
function portable(opts: HeldOutOptions): HeldOutOptions {
  return { ...opts, roots: opts.roots.map((r) => path.basename(path.resolve(r))) };
}

/** Every file of the sequences under `roots`, sorted: what the set depends on besides its options. */
function sourceFiles(roots: string[]): string[] {
  const files: string[] = [];
  for (const root of roots) {
    for (const seq of readHPatches(root)) {
      files.push(...seq.images, ...seq.images.slice(1).map((_, k) => path.join(seq.dir, `H_1_${k + 2}`)));
    }
  }
  return files;
}

/** The cache key: options, labeler identity and the bytes of every source file. */
export function heldOutKey(opts: HeldOutOptions, labeler: unknown): string {
  const h = crypto.createHash("sha256");
  h.update(canonicalJson({ format: HELD_OUT_FORMAT, opts: portable(opts), labeler }));
  for (const f of sourceFiles(opts.roots)) {
    h.update(path.basename(path.dirname(f)) + "/" + path.basename(f) + "\0");
    h.update(fs.readFileSync(f));
  }
  return h.digest("hex").slice(0, 16);
}

/** Build the set (see the module comment). */
export async function buildHeldOut(opts: HeldOutOptions, keypoints: KeypointLookup, progress: { quiet?: boolean } = {}): Promise<HeldOutSet> {
  const sequences = opts.roots.flatMap((root) => readHPatches(root).map((seq) => ({ root, seq })));
  const cuts: Cut[] = [];
  const classSeq: number[] = [];
  const bar = progressBar("held-out patches", sequences.length, { quiet: progress.quiet });
  const [lo, hi] = opts.scaleRange;
  try {
    for (let s = 0; s < sequences.length; s++) {
      const { seq } = sequences[s];
      const rgb = await Promise.all(seq.images.map((f) => readRgb(f)));
      const grey: GreyFloat[] = rgb.map(greyFloat);
      const homs: Homography[] = [IDENTITY, ...seq.homographies];
      const pts = await keypoints(rgb[0], seq.images[0]);
      const rng = new Rng(seedFor(opts.seed, s));
      const order = Int32Array.from({ length: pts.length >> 1 }, (_, i) => i);
      for (let i = order.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [order[i], order[j]] = [order[j], order[i]];
      }
      const kept: [number, number][] = [];
      for (let c = 0; c < order.length && kept.length < opts.keypointsPerSequence; c++) {
        const x = pts[2 * order[c]], y = pts[2 * order[c] + 1];
        if (kept.some(([a, b]) => (a - x) ** 2 + (b - y) ** 2 < opts.minSeparation ** 2)) continue;
        const support = opts.support * Math.exp(rng.uniform(Math.log(lo), Math.log(hi)));
        const frames: PatchFrame[] = homs.map((h) => {
          const [u, v] = applyToPoint(h, x, y);
          return jitterFrame({ x: u, y: v, support: support * localScale(h, x, y), angle: 0 }, rng, opts.jitter);
        });
        if (!frames.every((f, k) => supportInside(grey[k].width, grey[k].height, f))) continue;
        const cls = classSeq.length;
        classSeq.push(s);
        frames.forEach((f, k) => {
          const values = new Float32Array(PIXELS);
          cutPatch(grey[k], f, values);
          addNoise(values, 0, PIXELS, rng, opts.noise);
          cuts.push({ seq: s, image: k + 1, cls, values });
        });
        kept.push([x, y]);
      }
      bar.tick(1, `${classSeq.length} classes`);
    }
  } finally {
    bar.stop();
  }
  if (classSeq.length < 2) throw new Error(`held-out set: only ${classSeq.length} usable keypoints in ${opts.roots.join(", ")}`);

  const m = cuts.length;
  const set: HeldOutSet = {
    patches: new Uint8Array(m * PIXELS),
    sequence: new Int32Array(m),
    image: new Int32Array(m),
    cls: new Int32Array(m),
    pairs: new Int32Array(0),
    labels: new Uint8Array(0),
    sequences: sequences.map(({ root, seq }) => `${path.basename(path.resolve(root))}/${seq.name}`),
  };
  cuts.forEach((c, i) => {
    for (let p = 0; p < PIXELS; p++) set.patches[i * PIXELS + p] = Math.round(c.values[p]);
    set.sequence[i] = c.seq;
    set.image[i] = c.image;
    set.cls[i] = c.cls;
  });
  const pairs: number[] = [];
  const labels: number[] = [];
  // Patch index of (class, image k): classes are contiguous runs of their sequence's image count.
  const patchOf = new Map<string, number>();
  cuts.forEach((c, i) => patchOf.set(`${c.cls}/${c.image}`, i));
  const classesOf = (s: number) => classSeq.map((q, c) => (q === s ? c : -1)).filter((c) => c >= 0);
  const rng = new Rng(seedFor(opts.seed, 0x9a125));
  let alternate = 0;
  for (let i = 0; i < m; i++) {
    const c = cuts[i];
    if (c.image === 1) continue;
    const ref = patchOf.get(`${c.cls}/1`)!;
    pairs.push(ref, i);
    labels.push(1);
    // The negative: image k's patch of another class, of the same sequence or another one.
    const same = classesOf(c.seq).filter((q) => q !== c.cls);
    const other = classSeq.map((q, k) => (q !== c.seq ? k : -1)).filter((k) => k >= 0);
    const useSame = (alternate++ % 2 === 0 && same.length > 0) || other.length === 0;
    const pool = useSame ? same : other;
    const negCls = pool[rng.int(pool.length)];
    const n = sequences[classSeq[negCls]].seq.images.length;
    const k = useSame ? c.image : 2 + rng.int(n - 1);
    pairs.push(ref, patchOf.get(`${negCls}/${k}`)!);
    labels.push(0);
  }
  set.pairs = Int32Array.from(pairs);
  set.labels = Uint8Array.from(labels);
  return set;
}

/** Write the set atomically (safetensors; `meta` stored as strings). */
export function saveHeldOut(file: string, set: HeldOutSet, meta: Record<string, string> = {}): void {
  const m = set.sequence.length;
  const i32 = (a: Int32Array, shape: number[]): NamedArray => ({ dtype: "I32", shape, data: new Uint8Array(a.buffer, a.byteOffset, a.byteLength) });
  const tensors = new Map<string, NamedArray>([
    ["patches", { dtype: "U8", shape: [m, PATCH_SIZE, PATCH_SIZE], data: set.patches }],
    ["sequence", i32(set.sequence, [m])],
    ["image", i32(set.image, [m])],
    ["cls", i32(set.cls, [m])],
    ["pairs", i32(set.pairs, [set.labels.length, 2])],
    ["labels", { dtype: "U8", shape: [set.labels.length], data: set.labels }],
  ]);
  writeSafetensors(file, tensors, { format: HELD_OUT_FORMAT, sequences: JSON.stringify(set.sequences), ...meta });
}

/** Read a set written by saveHeldOut; errors name the file. */
export function loadHeldOut(file: string): HeldOutSet & { metadata: Record<string, string> } {
  const { tensors, metadata } = readSafetensors(file);
  if (metadata.format !== HELD_OUT_FORMAT) throw new Error(`${file}: not a held-out patch set (format '${metadata.format ?? "missing"}', expected '${HELD_OUT_FORMAT}')`);
  const get = (name: string, dtype: string) => {
    const t = tensors.get(name);
    if (!t || t.dtype !== dtype) throw new Error(`${file}: tensor '${name}' missing or not ${dtype}`);
    return t;
  };
  const i32 = (name: string) => {
    const t = get(name, "I32");
    return new Int32Array(t.data.slice().buffer);
  };
  const set = {
    patches: get("patches", "U8").data.slice(),
    sequence: i32("sequence"),
    image: i32("image"),
    cls: i32("cls"),
    pairs: i32("pairs"),
    labels: get("labels", "U8").data.slice(),
    sequences: JSON.parse(metadata.sequences ?? "[]") as string[],
    metadata,
  };
  const m = set.sequence.length;
  if (set.patches.length !== m * PIXELS || set.image.length !== m || set.cls.length !== m || set.pairs.length !== 2 * set.labels.length) {
    throw new Error(`${file}: tensor sizes disagree (${m} patches)`);
  }
  return set;
}

/**
 * The set for these options from `dir` (held-out-<key>.safetensors), built and written there first
 * when missing. Returns the set and its file.
 */
export async function heldOutCached(
  dir: string,
  opts: HeldOutOptions,
  labeler: { identity: unknown; lookup: KeypointLookup },
  progress: { quiet?: boolean } = {},
): Promise<{ set: HeldOutSet; file: string; built: boolean }> {
  const key = heldOutKey(opts, labeler.identity);
  const file = path.join(dir, `held-out-${key}.safetensors`);
  if (fs.existsSync(file)) return { set: loadHeldOut(file), file, built: false };
  const set = await buildHeldOut(opts, labeler.lookup, progress);
  fs.mkdirSync(dir, { recursive: true });
  saveHeldOut(file, set, { key, options: canonicalJson(portable(opts)) });
  return { set, file, built: true };
}
