// Where training pairs come from: an image folder split into training and validation images, each
// image with its teacher targets (teacher cache) and keypoint pseudo-labels (label cache).
// Missing cache entries are computed up front, with a progress bar, when the teacher can run here;
// otherwise the error names the command that fills them.
import * as fs from "node:fs";
import * as path from "node:path";
import { readRgb, RgbImage } from "../data/image";
import { listImages } from "../data/image-folder";
import { TeacherCache, cacheKey, CacheKey, teachCached } from "../teachers/cache";
import type { Teacher, TeacherOutput } from "../teachers/teacher";
import { progressBar } from "../util/progress";
import type { PairSource } from "./pairs";
import type { TeacherName } from "./config";

export interface ImageSplit {
  train: string[];
  validation: string[];
  /** How the split was made, for the run's log and the README. */
  rule: string;
}

/**
 * BSDS500's layout (images/{train,val,test}): train + test for training, val held back. Any other
 * folder: every 10th image (in sorted order) held back. The test sets (data/synthetic-hpatches,
 * data/hpatches-sample) are never a training folder: they are refused here.
 */
export function splitImages(dir: string): ImageSplit {
  const abs = path.resolve(dir);
  for (const testSet of ["synthetic-hpatches", "hpatches-sample"]) {
    if (abs.split(path.sep).includes(testSet)) throw new Error(`${dir}: ${testSet} is a test set; it is never trained or validated on`);
  }
  const sub = (name: string) => path.join(abs, name);
  if (["train", "val"].every((s) => fs.existsSync(sub(s)) && fs.statSync(sub(s)).isDirectory())) {
    const train = [...listImages(sub("train")), ...(fs.existsSync(sub("test")) ? listImages(sub("test")) : [])];
    const validation = listImages(sub("val"));
    if (train.length === 0 || validation.length === 0) throw new Error(`${dir}: train/ (and test/) or val/ holds no images`);
    return { train, validation, rule: "train/ and test/ for training, val/ held back for validation" };
  }
  const all = listImages(abs);
  if (all.length < 2) throw new Error(`${dir}: ${all.length === 0 ? "no images" : "one image only"} (need at least 2: one to train on, one to validate on)`);
  return {
    train: all.filter((_, i) => i % 10 !== 9 || all.length < 10),
    validation: all.filter((_, i) => i % 10 === 9 || (all.length < 10 && i === all.length - 1)),
    rule: "every 10th image (sorted by path) held back for validation",
  };
}

/** The teacher of a run, built by name. SAM is loaded only when asked for (it needs onnxruntime and its model files). */
export async function createTeacherByName(name: TeacherName): Promise<Teacher> {
  if (name === "human") return (await import("../teachers/human")).createHumanTeacher();
  if (name === "classical") return (await import("../teachers/classical")).createClassicalTeacher();
  try {
    return await (await import("../teachers/sam")).createSamTeacher();
  } catch (e) {
    throw new SourceError(`${(e as Error).message}; then fill the cache with: npm run teach -- --teacher sam --images DIR`);
  }
}

/** Input that cannot be used (a missing teacher, an unreadable image): a command exits 2 on it. */
export class SourceError extends Error {}

/** Keypoint pseudo-labels of one image ([N,2] x, y), from a labeler and its cache. */
export type KeypointLookup = (image: RgbImage, file: string) => Promise<Float32Array>;

export interface SourcesSnapshot {
  files: string[];
  images: RgbImage[];
  keypoints: Float32Array[];
  keys: CacheKey[];
  cacheRoot: string;
}

/** A list of images with everything a pair needs, the teacher targets read back from the cache on demand. */
export class PairSources {
  private readonly recent = new Map<number, TeacherOutput>();

  private constructor(
    readonly files: string[],
    private readonly images: RgbImage[],
    private readonly keypoints: Float32Array[],
    private readonly keys: CacheKey[],
    private readonly cache: TeacherCache,
  ) {}

  get count(): number {
    return this.files.length;
  }

  /** Everything needed to rebuild these sources on another thread (plain data, structured-cloneable). */
  snapshot(): SourcesSnapshot {
    return { files: this.files, images: this.images, keypoints: this.keypoints, keys: this.keys, cacheRoot: this.cache.root };
  }

  static fromSnapshot(s: SourcesSnapshot): PairSources {
    return new PairSources(s.files, s.images, s.keypoints, s.keys, new TeacherCache(s.cacheRoot));
  }

  /**
   * Read every image, make sure its teacher entry and labels exist (computing missing ones with a
   * progress bar), and keep the images and labels in memory.
   */
  static async prepare(
    files: string[],
    teacher: Teacher,
    cache: TeacherCache,
    labels: KeypointLookup,
    opts: { label: string; quiet?: boolean; minSide?: number },
  ): Promise<PairSources> {
    const images: RgbImage[] = [], keypoints: Float32Array[] = [], keys: CacheKey[] = [];
    const bar = progressBar(opts.label, files.length, { quiet: opts.quiet });
    let computed = 0;
    try {
      for (const file of files) {
        let image: RgbImage;
        try {
          image = await readRgb(file);
        } catch (e) {
          throw new SourceError((e as Error).message);
        }
        if (opts.minSide !== undefined && Math.min(image.width, image.height) < opts.minSide) {
          throw new SourceError(`${file}: image is ${image.width}x${image.height}, smaller than the ${opts.minSide} px training crop`);
        }
        const key = cacheKey(teacher, { image, file });
        if (cache.read(key).status !== "hit") {
          const r = await teachCached(teacher, cache, { image, file });
          if (r.status !== "hit") computed++;
        }
        images.push(image);
        keypoints.push(await labels(image, file));
        keys.push(key);
        bar.tick(1, computed > 0 ? `${computed} teacher entries computed` : "");
      }
    } finally {
      bar.stop();
    }
    return new PairSources(files, images, keypoints, keys, cache);
  }

  /** Image i with its teacher targets and labels. */
  source(i: number): PairSource {
    let teacher = this.recent.get(i);
    if (!teacher) {
      const found = this.cache.read(this.keys[i]);
      if (found.status !== "hit") throw new SourceError(`${this.files[i]}: teacher cache entry ${found.status === "invalid" ? `is invalid (${found.reason})` : "disappeared"}`);
      teacher = found.output;
      // A handful of recent entries: a batch touches each image once, so this only spares re-reads in small sets.
      if (this.recent.size >= 16) this.recent.delete(this.recent.keys().next().value as number);
      this.recent.set(i, teacher);
    }
    return { image: this.images[i], teacher, keypoints: this.keypoints[i] };
  }
}
