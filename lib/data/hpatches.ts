// The HPatches sequence layout: a root folder of sequences, each holding images
// 1.<ext> .. N.<ext> (N >= 2; ext ppm, png or jpg) and text files H_1_k
// (3x3, mapping image-1 pixels (x, y, 1) into image k). The first letter of a
// sequence's name gives its type: "i" illumination, "v" viewpoint.
import * as fs from "node:fs";
import * as path from "node:path";
import { Homography, parseHomography } from "../geometry/homography";
import { DatasetError } from "./errors";
import { readRgb, RgbImage } from "./image";

export type SequenceType = "i" | "v";

export interface HPatchesSequence {
  name: string;
  type: SequenceType;
  dir: string;
  /** image paths, index 0 is image 1 */
  images: string[];
  /** image extension without the dot, e.g. "ppm" */
  ext: string;
  /** homographies[k-2] = H_1_k for k = 2..N */
  homographies: Homography[];
}

const IMAGE_EXTENSIONS = ["ppm", "png", "jpg", "jpeg"];

/** Read one sequence folder; throws with the offending file in the message. */
export function readSequence(dir: string): HPatchesSequence {
  const name = path.basename(dir);
  const type = name[0];
  if (type !== "i" && type !== "v") {
    throw new DatasetError(`${dir}: sequence name must start with "i" (illumination) or "v" (viewpoint)`);
  }
  const files = fs.readdirSync(dir);
  const byIndex = new Map<number, string>();
  for (const f of files) {
    const m = /^(\d+)\.([A-Za-z]+)$/.exec(f);
    if (!m || !IMAGE_EXTENSIONS.includes(m[2].toLowerCase())) continue;
    const k = Number(m[1]);
    if (byIndex.has(k)) throw new DatasetError(`${dir}: two images numbered ${k} (${byIndex.get(k)}, ${f})`);
    byIndex.set(k, f);
  }
  if (byIndex.size < 2) throw new DatasetError(`${dir}: needs images 1.<ext> and 2.<ext> at least, found ${byIndex.size} image(s)`);
  const n = byIndex.size;
  for (let k = 1; k <= n; k++) {
    if (!byIndex.has(k)) throw new DatasetError(`${path.join(dir, `${k}.<ext>`)}: missing image (images must be numbered 1..${n})`);
  }
  const images = Array.from({ length: n }, (_, i) => path.join(dir, byIndex.get(i + 1)!));
  const ext = path.extname(images[0]).slice(1);
  const homographies: Homography[] = [];
  for (let k = 2; k <= n; k++) {
    const file = path.join(dir, `H_1_${k}`);
    if (!fs.existsSync(file)) throw new DatasetError(`${file}: missing homography file`);
    try {
      homographies.push(parseHomography(fs.readFileSync(file, "utf8"), file));
    } catch (e) {
      throw new DatasetError((e as Error).message);
    }
  }
  return { name, type, dir, images, ext, homographies };
}

/** All sequences under `root`, sorted by name (the order of the reference evaluators). */
export function readHPatches(root: string): HPatchesSequence[] {
  if (!fs.existsSync(root)) throw new DatasetError(`${root}: dataset folder not found`);
  if (!fs.statSync(root).isDirectory()) throw new DatasetError(`${root}: not a folder`);
  const dirs = fs
    .readdirSync(root)
    .filter((d) => !d.startsWith(".") && fs.statSync(path.join(root, d)).isDirectory())
    .sort();
  if (dirs.length === 0) throw new DatasetError(`${root}: no sequence folders (expected <root>/<i_|v_name>/1.ppm ...)`);
  return dirs.map((d) => readSequence(path.join(root, d)));
}

/** Load image k (1-based) of a sequence. */
export function readSequenceImage(seq: HPatchesSequence, k: number): Promise<RgbImage> {
  if (k < 1 || k > seq.images.length) throw new DatasetError(`${seq.dir}: no image ${k} (has 1..${seq.images.length})`);
  return readRgb(seq.images[k - 1]);
}
