// Everything a run reads besides its config: the teacher's outputs and the keypoint labels of every
// training and held-back image, from their caches (computed on the spot, with progress, where missing).
import * as path from "node:path";
import { createHomographicLabeler } from "../labels/homographic-adaptation";
import { LabelCache, labelsCached } from "../labels/cache";
import { TeacherCache } from "../teachers/cache";
import { projectPath } from "../util/project";
import type { TrainConfig } from "./config";
import { createTeacherByName, ImageSplit, PairSources } from "./sources";

export interface RunData {
  train: PairSources;
  validation: PairSources;
}

export interface PrepareOptions {
  /** Holds teachers/ and labels/; default data/cache. */
  cacheRoot?: string;
  quiet?: boolean;
}

/** The training and validation pair sources of `config`'s teacher over `split`. */
export async function prepareRunData(config: TrainConfig, split: ImageSplit, opts: PrepareOptions = {}): Promise<RunData> {
  const quiet = opts.quiet === true;
  const cacheRoot = path.resolve(opts.cacheRoot ?? projectPath("data", "cache"));
  const teacher = await createTeacherByName(config.teacher);
  try {
    const labeler = await createHomographicLabeler();
    const labelCache = new LabelCache(path.join(cacheRoot, "labels"));
    const labels = async (image: Parameters<typeof labelsCached>[2]["image"], file: string) => (await labelsCached(labeler, labelCache, { image, file })).labels.points;
    const cache = new TeacherCache(path.join(cacheRoot, "teachers"));
    const prepare = (files: string[], part: string) =>
      PairSources.prepare(files, teacher, cache, labels, { label: `teacher ${config.teacher} + labels (${part})`, quiet, minSide: config.data.size });
    return { train: await prepare(split.train, "train"), validation: await prepare(split.validation, "validation") };
  } finally {
    await teacher.dispose();
  }
}
