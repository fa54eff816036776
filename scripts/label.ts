// Fill the keypoint-label cache for a folder of images (homographic adaptation of Harris):
//   npm run label -- --images DIR [--cache DIR] [--limit N] [--homographies N] [--quiet]
// Each entry is written atomically as soon as it is computed, so a killed run
// resumes where it stopped; a second run over the same images only reads the cache.
// An unreadable image is skipped and named on stderr after the summary; the exit
// code is then 1. Bad arguments, or a folder without images: exit 2.
import * as fs from "node:fs";
import * as path from "node:path";
import { readRgb } from "../lib/data/image";
import { IMAGE_FILE_EXTENSIONS, listImages } from "../lib/data/image-folder";
import { DEFAULT_LABEL_CACHE_DIR, LabelCache, labelsCached } from "../lib/labels/cache";
import { createHomographicLabeler, HA_DEFAULTS } from "../lib/labels/homographic-adaptation";
import { existingDir, integerFlag, parseCommandLine, required, runMain, UsageError } from "../lib/util/cli";
import { progressBar } from "../lib/util/progress";

const USAGE = `usage: npm run label -- --images DIR [--cache DIR] [--limit N] [--homographies N] [--quiet]

Keypoint pseudo-labels by homographic adaptation of OpenCV's Harris detector, cached per image.
  --images DIR        folder of images, searched recursively (${IMAGE_FILE_EXTENSIONS.join(" ")})
  --cache DIR         cache root (default ${path.relative(process.cwd(), DEFAULT_LABEL_CACHE_DIR) || "."}); entries go to <root>/homographic-harris/
  --limit N           only the first N images (sorted by path)
  --homographies N    warped views per image besides the image itself (default ${HA_DEFAULTS.homographies}; 0 = plain Harris)
  --quiet             no progress bar
  --help              this text`;

async function main(): Promise<number> {
  const args = parseCommandLine(process.argv.slice(2), {
    usage: USAGE,
    options: {
      images: { type: "string" },
      cache: { type: "string", default: DEFAULT_LABEL_CACHE_DIR },
      limit: { type: "string" },
      homographies: { type: "string" },
      quiet: { type: "boolean", default: false },
    },
  });
  const images = existingDir(required(args.images, "--images", "a folder of images"), "--images");
  const limit = integerFlag(args.limit, "--limit") ?? Infinity;
  const homographies = integerFlag(args.homographies, "--homographies", 0) ?? HA_DEFAULTS.homographies;
  if (fs.existsSync(args.cache) && !fs.statSync(args.cache).isDirectory()) throw new UsageError(`--cache ${args.cache}: exists and is not a folder`);
  const files = listImages(images).slice(0, limit);
  if (files.length === 0) throw new UsageError(`--images ${images}: no images (${IMAGE_FILE_EXTENSIONS.join(", ")}) found`);

  const labeler = await createHomographicLabeler({ homographies });
  const cache = new LabelCache(path.resolve(args.cache));
  const swept = cache.sweepPartialWrites(labeler.identity);
  if (swept.length > 0) console.log(`removed ${swept.length} partial write(s) left by an interrupted run`);

  const counts = { hit: 0, miss: 0, replaced: 0 };
  const failed: { file: string; reason: string }[] = [];
  let points = 0;
  const bar = progressBar(`label ${labeler.identity.name}`, files.length, { quiet: args.quiet });
  try {
    for (const file of files) {
      try {
        const image = await readRgb(file);
        const result = await labelsCached(labeler, cache, { image, file });
        counts[result.status]++;
        points += result.labels.scores.length;
        if (result.reason) console.error(`warning: recomputed an invalid cache entry: ${result.reason}`);
      } catch (e) {
        failed.push({ file, reason: (e as Error).message });
      }
      bar.tick(1, `${counts.hit} hits, ${counts.miss + counts.replaced} computed, ${failed.length} failed`);
    }
  } finally {
    bar.stop();
  }
  const labelled = files.length - failed.length;
  console.log(
    `label ${labeler.identity.name}: ${files.length} images, ${counts.hit} hits, ${counts.miss} misses, ` +
      `${counts.replaced} invalid entries recomputed, ${failed.length} failed; ` +
      `${labelled > 0 ? (points / labelled).toFixed(0) : 0} points per image; cache ${cache.dirFor(labeler.identity)}`,
  );
  for (const f of failed) console.error(`failed: ${f.reason.startsWith(f.file) ? f.reason : `${f.file}: ${f.reason}`}`);
  return failed.length > 0 ? 1 : 0;
}

runMain(main);
