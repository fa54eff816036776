// Classical teacher: Felzenszwalb-Huttenlocher segmentation at several scales,
// for any image and with no model at all. The scales play the role the
// annotators play in the human teacher:
//   embedding  co-membership code across scales: cos(e_p, e_q) = fraction of
//              scales putting p and q in the same segment;
//   edges      fraction of scales with a segment boundary at the pixel;
//   groups     the segmentation at scale `groupsScale` (the middle one by default).
import { felzenszwalb, FelzenszwalbOptions } from "./felzenszwalb";
import {
  boundaryFraction,
  checkTeacherInput,
  coMembershipEmbedding,
  EMBEDDING_STRIDE,
  Teacher,
  TeacherOutput,
} from "./teacher";
import type { RgbImage } from "../data/image";

export interface ClassicalTeacherOptions {
  /** One segmentation per entry, finest first. */
  scales?: FelzenszwalbOptions[];
  /** Index into `scales` of the segmentation used as groups. */
  groupsScale?: number;
  stride?: number;
}

// On 20 BSDS500 validation images (481x321) these gave 64-321, 15-106 and 7-46 segments.
export const CLASSICAL_DEFAULTS: Required<ClassicalTeacherOptions> = {
  scales: [
    { k: 150, sigma: 0.8, minSize: 100 },
    { k: 400, sigma: 0.8, minSize: 200 },
    { k: 1000, sigma: 0.8, minSize: 400 },
  ],
  groupsScale: 1,
  stride: EMBEDDING_STRIDE,
};

/** Teacher targets of one image (synchronous; the teacher wraps it). */
export function classicalTargets(img: RgbImage, opts: ClassicalTeacherOptions = {}): TeacherOutput {
  const o = { ...CLASSICAL_DEFAULTS, ...opts };
  if (o.groupsScale < 0 || o.groupsScale >= o.scales.length) {
    throw new Error(`classical teacher: groupsScale ${o.groupsScale} is not an index into ${o.scales.length} scales`);
  }
  const { width, height } = img;
  const partitions = o.scales.map((s) => felzenszwalb(img, s));
  const { embedding, shape } = coMembershipEmbedding(partitions, height, width, o.stride);
  return {
    height,
    width,
    embedding,
    embeddingShape: shape,
    groups: partitions[o.groupsScale],
    edges: boundaryFraction(partitions, height, width),
  };
}

export function createClassicalTeacher(opts: ClassicalTeacherOptions = {}): Teacher {
  const o = { ...CLASSICAL_DEFAULTS, ...opts };
  return {
    identity: { name: "classical", version: 1, params: { method: "felzenszwalb", scales: o.scales, groupsScale: o.groupsScale, stride: o.stride } },
    sourceKey: () => "",
    async teach(input) {
      checkTeacherInput(input);
      return classicalTargets(input.image, o);
    },
    async dispose() {},
  };
}
