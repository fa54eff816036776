// Fill the teacher cache for a folder of images:
//   npm run teach -- --teacher sam|human|classical --images DIR [--cache DIR] [--limit N] [--sam-dir DIR] [--quiet]
// (--cache defaults to data/cache/teachers, --sam-dir to data/models/sam; --quiet hides the progress bar.)
// Images are found recursively (jpg, jpeg, png, ppm, pgm, webp, tif). Each entry
// is written atomically as soon as it is computed, so a killed run resumes where
// it stopped; a second run over the same images only reads the cache.
// An unreadable or too-small image is reported and skipped; the summary lists it
// and the exit code is then 1. Bad arguments or missing SAM files: exit 2.
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { readRgb } from "../lib/data/image";
import { DEFAULT_CACHE_DIR, TeacherCache, teachCached } from "../lib/teachers/cache";
import { createClassicalTeacher } from "../lib/teachers/classical";
import { createHumanTeacher } from "../lib/teachers/human";
import type { Teacher } from "../lib/teachers/teacher";
import { runMain, UsageError } from "../lib/util/cli";
import { progressBar } from "../lib/util/progress";

const IMAGE_EXTENSIONS = new Set([".jpg", ".jpeg", ".png", ".ppm", ".pgm", ".webp", ".tif", ".tiff"]);


function listImages(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (IMAGE_EXTENSIONS.has(path.extname(e.name).toLowerCase())) out.push(p);
    }
  };
  walk(dir);
  return out;
}

async function makeTeacher(name: string, samDir: string | undefined): Promise<Teacher> {
  if (name === "human") return createHumanTeacher();
  if (name === "classical") return createClassicalTeacher();
  if (name === "sam") {
    // Loaded only here, so the other teachers never depend on onnxruntime.
    const { createSamTeacher } = await import("../lib/teachers/sam");
    try {
      return await createSamTeacher(samDir ? { modelDir: samDir } : {});
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  throw new UsageError(`--teacher ${name}: unknown teacher (use sam, human or classical)`);
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      options: {
        teacher: { type: "string" },
        images: { type: "string" },
        cache: { type: "string", default: DEFAULT_CACHE_DIR },
        limit: { type: "string" },
        "sam-dir": { type: "string" },
        quiet: { type: "boolean", default: false },
      },
    }).values;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (!args.teacher) throw new UsageError("--teacher is required (sam, human or classical)");
  if (!args.images) throw new UsageError("--images DIR is required");
  if (!fs.existsSync(args.images) || !fs.statSync(args.images).isDirectory()) throw new UsageError(`--images ${args.images}: not a folder`);
  let limit = Infinity;
  if (args.limit !== undefined) {
    limit = Number(args.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit ${args.limit}: expected a positive integer`);
  }
  const files = listImages(args.images).slice(0, limit);
  if (files.length === 0) throw new UsageError(`--images ${args.images}: no images (${[...IMAGE_EXTENSIONS].join(", ")}) found`);

  const teacher = await makeTeacher(args.teacher, args["sam-dir"]);
  const cache = new TeacherCache(path.resolve(args.cache!));
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
  for (const f of failed) console.log(`  failed: ${f.reason.startsWith(f.file) ? f.reason : `${f.file}: ${f.reason}`}`);
  return failed.length > 0 ? 1 : 0;
}

runMain(main);
