// A teacher with a closed-form output and a call counter, for cache tests.
import type { CacheKey } from "../../lib/teachers/cache";
import type { Teacher, TeacherOutput } from "../../lib/teachers/teacher";

/** Deterministic output: values depend only on index and `seed`. */
export function fakeOutput(height: number, width: number, channels: number, seed = 1): TeacherOutput {
  const h = Math.ceil(height / 8), w = Math.ceil(width / 8);
  return {
    height,
    width,
    embedding: Float32Array.from({ length: h * w * channels }, (_, i) => Math.sin(i * 0.37 + seed)),
    embeddingShape: [h, w, channels],
    groups: Int32Array.from({ length: height * width }, (_, i) => (i * 7 + seed) % 13),
    edges: Float32Array.from({ length: height * width }, (_, i) => ((i * 3 + seed) % 5) / 4),
  };
}

/** An output of about side*side*64*4 bytes, to make a write take a while. */
export function largeOutput(side: number): TeacherOutput {
  return fakeOutput(side * 8, side * 8, 64, 5);
}

export const FAKE_KEY: CacheKey = {
  key: "f".repeat(64),
  imageHash: "a".repeat(64),
  sourceKey: "",
  identity: { name: "fake", version: 1, params: { large: true } },
};

export function countingTeacher(params: Record<string, unknown> = {}): Teacher & { calls: number } {
  const t = {
    calls: 0,
    identity: { name: "fake", version: 1, params },
    sourceKey: () => "",
    async teach(input: { image: { width: number; height: number } }) {
      t.calls++;
      return fakeOutput(input.image.height, input.image.width, 4, t.calls);
    },
    async dispose() {},
  };
  return t;
}
