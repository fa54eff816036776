// Fill the teacher cache for a folder of images:
//   npm run teach -- --teacher sam|human|classical --images DIR [--cache DIR] [--limit N] [--sam-dir DIR] [--quiet]
// (--cache defaults to data/cache/teachers, --sam-dir to data/models/sam; --quiet hides the progress bar.)
// Images are found recursively (lib/data/image-folder.ts), in sorted order. Each entry
// is written atomically as soon as it is computed, so a killed run resumes where
// it stopped; a second run over the same images only reads the cache.
// An unreadable or too-small image is skipped and named on stderr after the summary;
// the exit code is then 1. Bad arguments or missing SAM files: exit 2.
import * as path from "node:path";
import { IMAGE_FILE_EXTENSIONS, listImages } from "../lib/data/image-folder";
import { readRgb } from "../lib/data/image";
import { DEFAULT_CACHE_DIR, TeacherCache, teachCached } from "../lib/teachers/cache";
import { createClassicalTeacher } from "../lib/teachers/classical";
import { createHumanTeacher } from "../lib/teachers/human";
import type { Teacher } from "../lib/teachers/teacher";
import { choiceFlag, existingDir, integerFlag, outputDir, parseCommandLine, required, runMain, UsageError } from "../lib/util/cli";
import { progressBar } from "../lib/util/progress";

const TEACHERS = ["sam", "human", "classical"] as const;
const USAGE = [
  "usage: npm run teach -- --teacher sam|human|classical --images DIR [--cache DIR] [--limit N] [--sam-dir DIR] [--quiet]",
  "  --teacher NAME   sam (ONNX files in --sam-dir), human (BSDS500 segmentations) or classical",
  "  --images DIR     folder of images (searched recursively)",
  "  --cache DIR      teacher cache (default data/cache/teachers)",
  "  --limit N        only the first N images in sorted order",
  "  --sam-dir DIR    folder of sam_image_encoder.onnx and sam_prompt_decoder.onnx (default data/models/sam)",
  "  --quiet          no progress bar",
].join("\n");

async function makeTeacher(name: (typeof TEACHERS)[number], samDir: string | undefined): Promise<Teacher> {
  if (name === "human") return createHumanTeacher();
  if (name === "classical") return createClassicalTeacher();
  // Loaded only here, so the other teachers never depend on onnxruntime.
  const { createSamTeacher } = await import("../lib/teachers/sam");
  try {
    return await createSamTeacher(samDir ? { modelDir: samDir } : {});
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

async function main(): Promise<number> {
  const args = parseCommandLine(process.argv.slice(2), {
    usage: USAGE,
    options: {
      teacher: { type: "string" },
      images: { type: "string" },
      cache: { type: "string", default: DEFAULT_CACHE_DIR },
      limit: { type: "string" },
      "sam-dir": { type: "string" },
      quiet: { type: "boolean", default: false },
    },
  });
  const teacherName = choiceFlag(required(args.teacher, "--teacher", TEACHERS.join(", ")), "--teacher", TEACHERS)!;
  const images = existingDir(required(args.images, "--images", "the folder of images"), "--images");
  const cacheDir = outputDir(args.cache, "--cache");
  const limit = integerFlag(args.limit, "--limit") ?? Infinity;
  const samDir = args["sam-dir"] === undefined ? undefined : existingDir(args["sam-dir"], "--sam-dir");
  const files = listImages(images).slice(0, limit);
  if (files.length === 0) throw new UsageError(`--images ${images}: no images (${IMAGE_FILE_EXTENSIONS.join(", ")}) found`);

  const teacher = await makeTeacher(teacherName, samDir);
  const cache = new TeacherCache(path.resolve(cacheDir));
  const swept = cache.sweepPartialWrites(teacher.identity);
  if (swept.length > 0) console.log(`removed ${swept.length} partial write(s) left by an interrupted run`);

  const counts = { hit: 0, miss: 0, replaced: 0 };
  const failed: { file: string; reason: string }[] = [];
  const bar = progressBar(`teach ${teacher.identity.name}`, files.length, { quiet: args.quiet });
  try {
    for (const file of files) {
      try {
        const image = await readRgb(file);
        const result = await teachCached(teacher, cache, { image, file });
        counts[result.status]++;
        if (result.reason) console.error(`warning: recomputed an invalid cache entry: ${result.reason}`);
      } catch (e) {
        failed.push({ file, reason: (e as Error).message });
      }
      bar.tick(1, `${counts.hit} hits, ${counts.miss + counts.replaced} computed, ${failed.length} failed`);
    }
  } finally {
    bar.stop();
    await teacher.dispose();
  }
  console.log(
    `teach ${teacher.identity.name}: ${files.length} images, ${counts.hit} hits, ${counts.miss} misses, ` +
      `${counts.replaced} invalid entries recomputed, ${failed.length} failed; cache ${cache.dirFor(teacher.identity)}`,
  );
  for (const f of failed) console.error(`failed: ${f.reason.startsWith(f.file) ? f.reason : `${f.file}: ${f.reason}`}`);
  return failed.length > 0 ? 1 : 0;
}

runMain(main);
