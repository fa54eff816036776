// Human teacher: the BSDS500 annotations themselves. No model is involved, so it
// answers "how much of SAMFeat's gain needs SAM?" from the other side.
//   embedding  co-membership code over the K annotators: cos(e_p, e_q) is exactly
//              the fraction of annotators putting p and q in the same segment;
//   edges      fraction of annotators whose segmentation has a boundary there;
//   groups     the consensus annotator: the one agreeing best with the others
//              (highest mean Rand index), ties to the lowest file number.
// Annotations: for an image <root>/images/<split>/<id>.jpg, the folder
// <root>/segmentations/<split>/<id>/ holds <k>.png, one 16-bit label map per
// annotator (labels from 1).
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import sharp from "sharp";
import {
  boundaryFraction,
  checkTeacherInput,
  coMembershipEmbedding,
  EMBEDDING_STRIDE,
  Teacher,
  TeacherInput,
  TeacherOutput,
} from "./teacher";

export interface HumanTeacherOptions {
  /** Embedding stride in pixels. */
  stride?: number;
}

const DEFAULTS: Required<HumanTeacherOptions> = { stride: EMBEDDING_STRIDE };

/** The annotation folder of a BSDS-layout image path (…/images/<split>/<id>.jpg). */
export function annotationDir(imageFile: string): string {
  const parts = path.resolve(imageFile).split(path.sep);
  const at = parts.lastIndexOf("images");
  if (at < 0) throw new Error(`${imageFile}: not inside an "images" folder, so its annotations cannot be located (expected <root>/images/<split>/<id>.jpg)`);
  parts[at] = "segmentations";
  parts[parts.length - 1] = path.parse(imageFile).name;
  return parts.join(path.sep);
}

/** The annotation files of an image, in annotator order (0.png, 1.png, …). */
export function annotationFiles(imageFile: string): string[] {
  const dir = annotationDir(imageFile);
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => /^\d+\.png$/.test(n));
  } catch {
    throw new Error(`${imageFile}: no human annotations (folder ${dir} is missing)`);
  }
  if (names.length === 0) throw new Error(`${imageFile}: no human annotations (${dir} holds no <k>.png label maps)`);
  return names.sort((a, b) => parseInt(a, 10) - parseInt(b, 10)).map((n) => path.join(dir, n));
}

/** Read one label map (any bit depth, first channel) as Int32 [H,W]. */
export async function readLabelMap(file: string): Promise<{ width: number; height: number; labels: Int32Array }> {
  try {
    const { data, info } = await sharp(file).toColourspace("grey16").raw({ depth: "ushort" }).toBuffer({ resolveWithObject: true });
    const u16 = new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2);
    return { width: info.width, height: info.height, labels: Int32Array.from(u16) };
  } catch (e) {
    throw new Error(`${file}: cannot read label map (${(e as Error).message})`);
  }
}

/** Rand index of two partitions of the same pixels: the fraction of pixel pairs on which they agree. */
export function randIndex(a: Int32Array, b: Int32Array): number {
  const n = a.length;
  const pairs = (m: number) => (m * (m - 1)) / 2;
  const countA = new Map<number, number>();
  const countB = new Map<number, number>();
  const joint = new Map<number, number>();
  for (let p = 0; p < n; p++) {
    countA.set(a[p], (countA.get(a[p]) ?? 0) + 1);
    countB.set(b[p], (countB.get(b[p]) ?? 0) + 1);
    const key = a[p] * 4294967296 + (b[p] >>> 0);
    joint.set(key, (joint.get(key) ?? 0) + 1);
  }
  let sa = 0, sb = 0, sj = 0;
  for (const m of countA.values()) sa += pairs(m);
  for (const m of countB.values()) sb += pairs(m);
  for (const m of joint.values()) sj += pairs(m);
  // Disagreeing pairs are together in exactly one of the two partitions.
  return 1 - (sa + sb - 2 * sj) / pairs(n);
}

/** Index of the partition with the highest mean Rand index against the others (the first on ties). */
export function consensusIndex(partitions: Int32Array[]): number {
  const k = partitions.length;
  if (k <= 2) return 0;
  const score = new Float64Array(k);
  for (let a = 0; a < k; a++) {
    for (let b = a + 1; b < k; b++) {
      const r = randIndex(partitions[a], partitions[b]);
      score[a] += r;
      score[b] += r;
    }
  }
  let best = 0;
  for (let a = 1; a < k; a++) if (score[a] > score[best] + 1e-12) best = a;
  return best;
}

/** Teacher targets from K annotator label maps of one H x W image. */
export function humanTargets(annotations: Int32Array[], height: number, width: number, stride = EMBEDDING_STRIDE): TeacherOutput {
  const { embedding, shape } = coMembershipEmbedding(annotations, height, width, stride);
  return {
    height,
    width,
    embedding,
    embeddingShape: shape,
    groups: Int32Array.from(annotations[consensusIndex(annotations)]),
    edges: boundaryFraction(annotations, height, width),
  };
}

export function createHumanTeacher(opts: HumanTeacherOptions = {}): Teacher {
  const o = { ...DEFAULTS, ...opts };
  const requireFile = (input: TeacherInput): string => {
    if (!input.file) throw new Error("human teacher: the image's file path is needed to find its annotations");
    return input.file;
  };
  return {
    identity: { name: "human", version: 1, params: { stride: o.stride, groups: "consensus-rand-index" } },
    sourceKey(input) {
      const hash = crypto.createHash("sha256");
      for (const f of annotationFiles(requireFile(input))) hash.update(path.basename(f)).update(fs.readFileSync(f));
      return hash.digest("hex");
    },
    async teach(input) {
      checkTeacherInput(input);
      const file = requireFile(input);
      const { width, height } = input.image;
      const maps = await Promise.all(annotationFiles(file).map(readLabelMap));
      maps.forEach((m, k) => {
        if (m.width !== width || m.height !== height) {
          throw new Error(`${annotationFiles(file)[k]}: label map is ${m.width}x${m.height}, the image ${file} is ${width}x${height}`);
        }
      });
      return humanTargets(maps.map((m) => m.labels), height, width, o.stride);
    },
    async dispose() {},
  };
}
