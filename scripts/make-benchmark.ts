// A synthetic benchmark in the HPatches sequence layout, built from photos:
//   npm run make-benchmark -- --photos DIR --out DIR [--seed S] [--sequences N] [--max-side PX] [--quiet]
// Each photo (downscaled so its longer side is --max-side) becomes one sequence
// of 6 images: 1.jpg is the photo, 2..6.jpg are views of it with H_1_k mapping
// image 1 into image k. i_* sequences change photometry only (H = identity);
// v_* sequences are warped by homographies from the training sampler and then
// photometrically augmented (the same geometry/photometric code training uses).
import * as fs from "node:fs";
import * as path from "node:path";
import { DatasetError } from "../lib/data/errors";
import { IMAGE_FILE_EXTENSIONS, listImages } from "../lib/data/image-folder";
import { readRgb, resizeRgb, writeRgb } from "../lib/data/image";
import { formatHomography, Homography, IDENTITY } from "../lib/geometry/homography";
import { randomWarp } from "../lib/geometry/pair";
import { photometricAugment, PHOTOMETRIC_DEFAULTS } from "../lib/geometry/photometric";
import { Rng } from "../lib/geometry/random";
import { SAMPLER_DEFAULTS } from "../lib/geometry/sampler";
import { writeFileAtomicSync, writeJsonAtomicSync } from "../lib/util/atomic";
import { existingDir, integerFlag, outputDir, parseCommandLine, required, runMain, UsageError } from "../lib/util/cli";
import { progressBar } from "../lib/util/progress";

const USAGE = [
  "usage: npm run make-benchmark -- --photos DIR --out DIR [--seed S] [--sequences N] [--max-side PX] [--quiet]",
  "  --photos DIR      folder of source photos (searched recursively)",
  "  --out DIR         the benchmark folder to write (replaced as a whole at the end)",
  "  --seed S          random seed, integer >= 0 (default 0)",
  "  --sequences N     number of sequences, one photo each (default 16)",
  "  --max-side PX     longer side of the downscaled photo, >= 32 (default 320)",
  "  --quiet           no progress bar",
].join("\n");
const IMAGES_PER_SEQUENCE = 6;
const JPEG_QUALITY = 90;

interface Args {
  photos: string;
  out: string;
  seed: number;
  sequences: number;
  maxSide: number;
  quiet: boolean;
}

function parseArgs(argv: string[]): Args {
  const v = parseCommandLine(argv, {
    usage: USAGE,
    options: {
      photos: { type: "string" },
      out: { type: "string" },
      seed: { type: "string" },
      sequences: { type: "string" },
      "max-side": { type: "string" },
      quiet: { type: "boolean", default: false },
    },
  });
  return {
    photos: existingDir(required(v.photos, "--photos", "the folder of source photos"), "--photos"),
    out: outputDir(required(v.out, "--out", "the benchmark folder to write"), "--out"),
    seed: integerFlag(v.seed, "--seed", 0) ?? 0,
    sequences: integerFlag(v.sequences, "--sequences") ?? 16,
    maxSide: integerFlag(v["max-side"], "--max-side", 32) ?? 320,
    quiet: v.quiet,
  };
}

function listPhotos(dir: string): string[] {
  const photos = listImages(dir);
  if (photos.length === 0) throw new UsageError(`--photos ${dir}: no images (${IMAGE_FILE_EXTENSIONS.join(", ")}) found`);
  return photos;
}

function shuffle<T>(xs: T[], rng: Rng): T[] {
  const a = xs.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

// "<package>--<title>.jpg" -> "<type>_<title>"
const sequenceName = (type: string, file: string) =>
  `${type}_${path.basename(file, path.extname(file)).split("--").pop()!.toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "")}`;

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const rng = new Rng(args.seed);
  const chosen = shuffle(listPhotos(args.photos), rng).slice(0, args.sequences);
  const out = path.resolve(args.out);
  // Build beside the target and swap it in at the end, so an interrupted run never leaves a half benchmark.
  const staging = `${out}.partial-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  const bar = progressBar("make-benchmark", chosen.length, { quiet: args.quiet });
  const manifest: { name: string; source: string; width: number; height: number }[] = [];
  try {
    for (let s = 0; s < chosen.length; s++) {
      const file = chosen[s];
      const type = s % 2 === 0 ? "i" : "v";
      const name = sequenceName(type, file);
      const seqRng = rng.fork();
      const photo = await readRgb(file);
      const scale = Math.min(1, args.maxSide / Math.max(photo.width, photo.height));
      const base = await resizeRgb(photo, Math.max(16, Math.round(photo.width * scale)), Math.max(16, Math.round(photo.height * scale)));
      const dir = path.join(staging, name);
      await writeRgb(path.join(dir, "1.jpg"), base, { jpegQuality: JPEG_QUALITY });
      for (let k = 2; k <= IMAGES_PER_SEQUENCE; k++) {
        let H: Homography = IDENTITY;
        let view = base;
        if (type === "v") {
          const w = randomWarp(base, seqRng);
          H = w.homography;
          view = w.image;
        }
        view = photometricAugment(view, seqRng);
        await writeRgb(path.join(dir, `${k}.jpg`), view, { jpegQuality: JPEG_QUALITY });
        writeFileAtomicSync(path.join(dir, `H_1_${k}`), formatHomography(H));
      }
      manifest.push({ name, source: path.relative(path.resolve(args.photos), file), width: base.width, height: base.height });
      bar.tick(1, name);
    }
  } catch (e) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw e;
  } finally {
    bar.stop();
  }
  writeJsonAtomicSync(path.join(staging, "benchmark.json"), {
    generator: "scripts/make-benchmark.ts",
    seed: args.seed,
    max_side: args.maxSide,
    images_per_sequence: IMAGES_PER_SEQUENCE,
    jpeg_quality: JPEG_QUALITY,
    sampler: SAMPLER_DEFAULTS,
    photometric: PHOTOMETRIC_DEFAULTS,
    sequences: manifest,
  });
  writeFileAtomicSync(
    path.join(staging, "README.md"),
    [
      "# Synthetic HPatches-layout benchmark",
      "",
      `Generated by \`npm run make-benchmark -- --photos ${args.photos} --out ${args.out} --seed ${args.seed} --sequences ${args.sequences} --max-side ${args.maxSide}\`.`,
      "",
      "Each folder is one sequence: `1.jpg` is a downscaled source photo, `2.jpg`..`6.jpg` are views of it and",
      "`H_1_k` maps image-1 pixels (x, y, 1) into image k. `i_*` sequences change photometry only (identity H);",
      "`v_*` sequences are warped by random homographies (the training sampler) and photometrically augmented.",
      "`benchmark.json` lists the source photo of each sequence and the generator's parameters.",
      "The photos and their licences are in the source folder (see the COPYRIGHT and SOURCE files there).",
      "",
    ].join("\n"),
  );
  const old = `${out}.old-${process.pid}`;
  if (fs.existsSync(out)) fs.renameSync(out, old);
  fs.renameSync(staging, out);
  fs.rmSync(old, { recursive: true, force: true });
  const types = manifest.map((m) => m.name[0]);
  console.log(`wrote ${manifest.length} sequences (${types.filter((t) => t === "i").length} i, ${types.filter((t) => t === "v").length} v) to ${args.out}`);
}

runMain(main, [DatasetError]);
