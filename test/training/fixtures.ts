// A tiny training folder in the BSDS500 layout (train/ and val/), cut from bundled photographs,
// with the classical teacher (works on any image) and temporary caches, so training tests run in
// seconds and never touch data/cache.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readRgb, resizeRgb, writeRgb } from "../../lib/data/image";
import { LabelCache, labelsCached } from "../../lib/labels/cache";
import { createHomographicLabeler } from "../../lib/labels/homographic-adaptation";
import { TeacherCache } from "../../lib/teachers/cache";
import { createClassicalTeacher } from "../../lib/teachers/classical";
import { PairSources } from "../../lib/training/sources";

const PHOTOS = ["astronaut.png", "coffee.png", "chelsea.png", "motorcycle_left.png", "rocket.jpg", "camera.png"];

/** <root>/images/{train,val}: 4 training and 2 validation images of side `side`; returns root. */
export async function makeTinyImageFolder(side = 96): Promise<string> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "samfeat-train-"));
  for (const [i, name] of PHOTOS.entries()) {
    const split = i < 4 ? "train" : "val";
    fs.mkdirSync(path.join(root, "images", split), { recursive: true });
    const img = await resizeRgb(await readRgb(path.resolve(__dirname, "../../data/photos/skimage", name)), side, side);
    await writeRgb(path.join(root, "images", split, `${i}.png`), img);
  }
  return root;
}

export async function tinySources(root: string): Promise<{ train: PairSources; validation: PairSources }> {
  const teacher = createClassicalTeacher();
  const cache = new TeacherCache(path.join(root, "cache", "teachers"));
  const labeler = await createHomographicLabeler();
  const labelCache = new LabelCache(path.join(root, "cache", "labels"));
  const labels = async (image: Parameters<typeof labelsCached>[2]["image"], file: string) => (await labelsCached(labeler, labelCache, { image, file })).labels.points;
  const list = (split: string) => fs.readdirSync(path.join(root, "images", split)).sort().map((f) => path.join(root, "images", split, f));
  const opts = { label: "tiny", quiet: true };
  return {
    train: await PairSources.prepare(list("train"), teacher, cache, labels, opts),
    validation: await PairSources.prepare(list("val"), teacher, cache, labels, opts),
  };
}
