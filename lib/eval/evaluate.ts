// The HPatches MMA evaluation of one feature extractor over a sequence folder:
// extract every image, match image 1 against each k, score the matches with
// H_1_k, estimate a homography, aggregate (see metrics.ts). Optionally writes
// the extracted features as D2-Net-compatible files next to the images.
// An unreadable image either stops the run (UnreadableImageError, carrying the
// pairs already scored) or, with skipUnreadable, drops the pairs that need it.
import { DatasetError } from "../data/errors";
import { HPatchesSequence, readHPatches, readSequenceImage } from "../data/hpatches";
import type { RgbImage } from "../data/image";
import { progressBar } from "../util/progress";
import { writeFeatureFile, featureFilePath } from "./export";
import { FeatureExtractor, Features, topK } from "./features";
import { cornerError, estimateHomography, HomographyEstimateOptions } from "./homography-estimation";
import { mutualNearestNeighbours } from "./matching";
import { EvalSummary, matchErrors, pairAccuracy, PairRecord, summarize } from "./metrics";
import { createExtractor } from "./methods";

export interface EvaluateOptions {
  /** keep the top-N features by score per image (undefined: all) */
  maxKeypoints?: number;
  /** write <seq>/<k>.<imgext>.<tag> feature files with this tag */
  exportNpz?: string;
  quiet?: boolean;
  homography?: Partial<HomographyEstimateOptions>;
  /** skip the pairs of an unreadable image instead of stopping (default: stop) */
  skipUnreadable?: boolean;
  /** called once per skipped image, with a message naming the file and the pairs dropped */
  onWarning?: (message: string) => void;
}

export interface EvaluationResult {
  summary: EvalSummary;
  pairs: PairRecord[];
  /** images that could not be read (with skipUnreadable: their pairs are not in `pairs`) */
  unreadable: { file: string; reason: string }[];
}

/** An image could not be read and skipUnreadable was off: `partial` holds every pair scored before it. */
export class UnreadableImageError extends DatasetError {
  constructor(message: string, readonly file: string, readonly partial: EvaluationResult) {
    super(message);
    this.name = "UnreadableImageError";
  }
}

/** Validate features against the image they came from (method bugs surface here, not as odd numbers). */
function checkFeatures(f: Features, name: string, file: string, width: number, height: number): void {
  const n = f.scores.length;
  if (f.keypoints.length !== 2 * n || f.descriptors.length !== n * f.dim) {
    throw new Error(`${name} on ${file}: inconsistent feature arrays (${n} scores, ${f.keypoints.length / 2} keypoints, ${f.descriptors.length} descriptor values of dim ${f.dim})`);
  }
  for (let i = 0; i < n; i++) {
    const x = f.keypoints[2 * i], y = f.keypoints[2 * i + 1];
    if (!(x >= -0.5 && y >= -0.5 && x <= width - 0.5 && y <= height - 0.5)) {
      throw new Error(`${name} on ${file}: keypoint (${x}, ${y}) outside the ${width}x${height} image`);
    }
  }
}

export async function evaluateDataset(root: string, extractor: FeatureExtractor, opts: EvaluateOptions = {}): Promise<EvaluationResult> {
  const sequences = readHPatches(root);
  const total = sequences.reduce((s, q) => s + q.homographies.length, 0);
  const bar = progressBar(`eval ${extractor.name}`, total, { quiet: opts.quiet });
  const featureCounts: number[] = [];
  const pairs: PairRecord[] = [];
  const unreadable: { file: string; reason: string }[] = [];
  const result = (): EvaluationResult => ({ summary: summarize(extractor.name, root, sequences.length, featureCounts, pairs), pairs, unreadable });

  /** The image, or undefined when it cannot be read and skipUnreadable is on. */
  const read = async (seq: HPatchesSequence, k: number, dropped: string): Promise<RgbImage | undefined> => {
    try {
      return await readSequenceImage(seq, k);
    } catch (e) {
      if (!(e instanceof DatasetError)) throw e;
      const file = seq.images[k - 1];
      unreadable.push({ file, reason: e.message });
      if (!opts.skipUnreadable) {
        const done = `${pairs.length} of ${total} pairs scored before it`;
        throw new UnreadableImageError(`${e.message} (${done})`, file, result());
      }
      opts.onWarning?.(`${e.message}: skipping ${dropped}`);
      return undefined;
    }
  };

  try {
    for (const seq of sequences) {
      const extract = async (img: RgbImage, k: number) => {
        const file = seq.images[k - 1];
        const f = topK(await extractor.extract(img), opts.maxKeypoints);
        checkFeatures(f, extractor.name, file, img.width, img.height);
        featureCounts.push(f.scores.length);
        if (opts.exportNpz) writeFeatureFile(featureFilePath(seq.dir, k, seq.ext, opts.exportNpz), f, img.width, img.height);
        return { f, width: img.width, height: img.height };
      };
      const refImage = await read(seq, 1, `all ${seq.homographies.length} pairs of ${seq.name}`);
      if (!refImage) {
        bar.tick(seq.homographies.length, `${seq.name}: skipped (image 1 unreadable)`);
        continue;
      }
      const ref = await extract(refImage, 1);
      for (let k = 2; k <= seq.images.length; k++) {
        const otherImage = await read(seq, k, `pair 1-${k} of ${seq.name}`);
        if (!otherImage) {
          bar.tick(1, `${seq.name} 1-${k}: skipped`);
          continue;
        }
        const other = await extract(otherImage, k);
        const H = seq.homographies[k - 2];
        if (ref.f.dim !== other.f.dim && ref.f.scores.length > 0 && other.f.scores.length > 0) throw new Error(`${extractor.name}: descriptor size ${ref.f.dim} vs ${other.f.dim} in ${seq.dir}`);
        const matches = mutualNearestNeighbours(ref.f.descriptors, other.f.descriptors, ref.f.dim);
        const errors = matchErrors(ref.f.keypoints, other.f.keypoints, matches, H);
        const m = matches.a.length;
        const ptsA = new Float64Array(2 * m), ptsB = new Float64Array(2 * m);
        for (let i = 0; i < m; i++) {
          ptsA[2 * i] = ref.f.keypoints[2 * matches.a[i]];
          ptsA[2 * i + 1] = ref.f.keypoints[2 * matches.a[i] + 1];
          ptsB[2 * i] = other.f.keypoints[2 * matches.b[i]];
          ptsB[2 * i + 1] = other.f.keypoints[2 * matches.b[i] + 1];
        }
        const est = await estimateHomography(ptsA, ptsB, opts.homography);
        const record: PairRecord = {
          sequence: seq.name,
          type: seq.type,
          k,
          matches: m,
          accuracy: pairAccuracy(errors),
          cornerError: est ? cornerError(est, H, ref.width, ref.height) : Infinity,
        };
        pairs.push(record);
        bar.tick(1, `${seq.name} 1-${k}: ${m} matches, acc@3 ${(record.accuracy[2] * 100).toFixed(1)}%`);
      }
    }
  } finally {
    bar.stop();
  }
  return result();
}

/** Evaluate several METHOD names (see methods.ts) on one dataset, one summary each. */
export async function evaluateMethods(root: string, methods: string[], opts: EvaluateOptions = {}): Promise<EvalSummary[]> {
  const summaries: EvalSummary[] = [];
  for (const method of methods) {
    const extractor = await createExtractor(method, { maxKeypoints: opts.maxKeypoints });
    try {
      summaries.push((await evaluateDataset(root, extractor, opts)).summary);
    } finally {
      extractor.dispose?.();
    }
  }
  return summaries;
}
