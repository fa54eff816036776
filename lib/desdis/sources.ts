// The training images of a DesDis run: each read once as grey floats, with its keypoint
// pseudo-labels from the label cache (computed and stored first when missing, as for SAMFeat
// training). The split is SAMFeat's (lib/training/sources.ts splitImages): BSDS500 train + test for
// training, val held back (the held-out patch set comes from the HPatches-layout test sets instead).
import { readRgb } from "../data/image";
import { progressBar } from "../util/progress";
import type { KeypointLookup } from "./held-out";
import { greyFloat } from "./patch-cut";
import type { PatchSource } from "./patch-pairs";

export async function loadPatchSources(files: string[], labels: KeypointLookup, opts: { quiet?: boolean } = {}): Promise<PatchSource[]> {
  const out: PatchSource[] = [];
  const bar = progressBar("training images + labels", files.length, { quiet: opts.quiet });
  try {
    for (const file of files) {
      const image = await readRgb(file);
      out.push({ file, grey: greyFloat(image), keypoints: await labels(image, file) });
      bar.tick(1);
    }
  } finally {
    bar.stop();
  }
  return out;
}
