// The SAM teacher: SAM's ONNX models (sam-model.ts) and its automatic mask generator
// (sam-masks.ts) turned into teacher outputs:
//   embedding = the encoder grid's valid (unpadded) part resampled bilinearly to the
//               stride-8 grid of the image;
//   groups    = the generator's masks painted largest first (label 1 = largest), so the
//               smallest covering mask wins;
//   edges     = boundaries of that label map (1 on both sides of a label change).
import { generateMasks, MASK_GENERATOR_DEFAULTS, MaskGeneratorOptions, paintLabelMap, SamMaskStats } from "./sam-masks";
import { loadSamModel, resampleEmbedding, SAM_MODEL_DEFAULTS, SamModelOptions } from "./sam-model";
import { checkTeacherInput, EMBEDDING_STRIDE, labelBoundaries, Teacher, TeacherOutput } from "./teacher";

export interface SamTeacherOptions extends SamModelOptions, Partial<MaskGeneratorOptions> {
  stride?: number;
}

export const SAM_DEFAULTS: Required<SamTeacherOptions> = { ...SAM_MODEL_DEFAULTS, ...MASK_GENERATOR_DEFAULTS, stride: EMBEDDING_STRIDE };

export interface SamTeacher extends Teacher {
  /** Counts of the last teach() call. */
  lastStats(): SamMaskStats | undefined;
}

/** Load both ONNX files; throws (naming the expected paths) when either is missing. */
export async function createSamTeacher(opts: SamTeacherOptions = {}): Promise<SamTeacher> {
  const o = { ...SAM_DEFAULTS, ...opts };
  const model = await loadSamModel(o);
  let stats: SamMaskStats | undefined;

  const identity = {
    name: "sam",
    version: 1,
    params: {
      encoderSha256: model.encoderSha256,
      decoderSha256: model.decoderSha256,
      pointsPerSide: o.pointsPerSide,
      predIouThresh: o.predIouThresh,
      stabilityScoreThresh: o.stabilityScoreThresh,
      stabilityScoreOffset: o.stabilityScoreOffset,
      boxNmsThresh: o.boxNmsThresh,
      maskThreshold: o.maskThreshold,
      stride: o.stride,
    },
  };

  return {
    identity,
    sourceKey: () => "",
    lastStats: () => stats,
    async teach(input): Promise<TeacherOutput> {
      checkTeacherInput(input);
      const img = input.image;
      const enc = await model.encode(img);
      const { embedding, shape } = resampleEmbedding(enc.tensor.data as Float32Array, enc.channels, enc.grid, img, enc.resized, o.stride);
      const generated = await generateMasks((x, y) => model.decodePoint(enc, x, y), img.height, img.width, o);
      stats = generated.stats;
      const groups = paintLabelMap(generated.masks, img.height, img.width);
      return {
        height: img.height,
        width: img.width,
        embedding,
        embeddingShape: shape,
        groups,
        edges: Float32Array.from(labelBoundaries(groups, img.height, img.width)),
      };
    },
    async dispose() {
      await model.release();
    },
  };
}
