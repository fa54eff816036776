// Speed of every DesDis network, one JSON line each:
//   npm run bench-patches -- [--widths 8,16,24,32] [--detector kaze|samfeat:CHECKPOINT] [--keypoints N] [--repeats R] [--out FILE]
// ms_per_1000_patches: evaluation-mode descriptors of 1000 patches (batches of 256, the evaluation's);
// ms_per_image: one 480x640 image end to end, the detector's keypoints (at most N), patch cutting and
// description. The teachers and equal-weight students are the L2-Net network; light students DesDis-d.
// Weights do not change the speed: the networks are freshly initialised. Medians over R repeats.
import { readRgb, resizeRgb } from "../lib/data/image";
import { detectorProblem, createPatchDetector, cutKeypointPatches } from "../lib/desdis/patch-extractor";
import { describePatches } from "../lib/desdis/patch-eval";
import { initEngine } from "../lib/engine/index";
import { createPatchNet, PatchDescriptorNet } from "../lib/models/patch-descriptors";
import { writeJsonAtomicSync } from "../lib/util/atomic";
import { integerFlag, outputFile, parseCommandLine, runMain, UsageError } from "../lib/util/cli";
import { projectPath } from "../lib/util/project";

const USAGE = `usage: npm run bench-patches -- [--widths 8,16,24,32] [--detector kaze|samfeat:CHECKPOINT] [--keypoints N] [--repeats R] [--out FILE]
  --widths W,...   light student widths (default 8,16,24,32); the L2-Net network is always measured
  --detector D     keypoints of the per-image timing (default kaze)
  --keypoints N    at most N keypoints per image (default 1000)
  --repeats R      repeats per measurement, the median is printed (default 3)
  --out FILE       also write the lines as one JSON array (npm run desdis-study reads outputs/desdis/speed.json)`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const v = parseCommandLine(process.argv.slice(2), {
    usage: USAGE,
    options: { widths: { type: "string" }, detector: { type: "string" }, keypoints: { type: "string" }, repeats: { type: "string" }, out: { type: "string" } },
  });
  const widths = (v.widths ?? "8,16,24,32").split(",").map((w) => {
    const n = Number(w);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`--widths ${v.widths}: '${w}' is not a positive integer`);
    return n;
  });
  const detectorName = v.detector ?? "kaze";
  const problem = detectorProblem(detectorName);
  if (problem !== undefined) throw new UsageError(problem);
  const keypoints = integerFlag(v.keypoints, "--keypoints") ?? 1000;
  const repeats = integerFlag(v.repeats, "--repeats") ?? 3;
  const out = v.out === undefined ? undefined : outputFile(v.out, "--out");
  const lines: Record<string, unknown>[] = [];
  const engine = await initEngine({ quiet: true });
  const image = await resizeRgb(await readRgb(projectPath("data", "photos", "skimage", "astronaut.png")), 640, 480);
  const detector = await createPatchDetector(detectorName);
  const patches = new Float32Array(1000 * 32 * 32).map((_, i) => (i * 2654435761) % 256);
  const nets: [string, () => PatchDescriptorNet][] = [["l2net", () => createPatchNet("l2net")], ...widths.map((w) => [`desdis${w}`, () => createPatchNet("desdis", { width: w })] as [string, () => PatchDescriptorNet])];
  try {
    for (const [name, make] of nets) {
      const net = make();
      describePatches(net, patches.subarray(0, 256 * 1024)); // warm-up
      const perPatches: number[] = [], perImage: number[] = [], detect: number[] = [];
      let found = 0;
      for (let r = 0; r < repeats; r++) {
        let t = performance.now();
        describePatches(net, patches);
        perPatches.push(performance.now() - t);
        t = performance.now();
        const k = await detector.detect(image, keypoints);
        const td = performance.now() - t;
        describePatches(net, cutKeypointPatches(image, k));
        perImage.push(performance.now() - t);
        detect.push(td);
        found = k.scores.length;
      }
      const line = {
        network: name,
        params: net.numParams(),
        ms_per_1000_patches: Math.round(median(perPatches)),
        ms_per_image: Math.round(median(perImage)),
        detector: detector.name,
        detector_ms: Math.round(median(detect)),
        keypoints: found,
        image: "480x640",
        backend: engine.backend,
        threads: engine.threads,
      };
      console.log(JSON.stringify(line));
      lines.push(line);
      net.dispose();
    }
  } finally {
    detector.dispose?.();
  }
  if (out !== undefined) writeJsonAtomicSync(out, lines);
}

runMain(main);
