// Small inputs for the DesDis pipeline tests: training sources from bundled photos with grid
// keypoints (no labeler needed), and a held-out set built from the tiny HPatches-layout dataset.
import * as path from "node:path";
import { readRgb, resizeRgb } from "../../lib/data/image";
import { buildHeldOut, HeldOutOptions, HeldOutSet } from "../../lib/desdis/held-out";
import { PATCH_DATA_DEFAULTS, PatchSource } from "../../lib/desdis/patch-pairs";
import { greyFloat } from "../../lib/desdis/patch-cut";
import { makeTinyDataset } from "../eval/fixtures";

/** Keypoints on a regular grid, `step` px apart, inside a `margin`. */
export function gridKeypoints(width: number, height: number, step: number, margin: number): Float32Array {
  const pts: number[] = [];
  for (let y = margin; y < height - margin; y += step) for (let x = margin; x < width - margin; x += step) pts.push(x, y);
  return Float32Array.from(pts);
}

export async function photoSources(names = ["camera.png", "coffee.png", "chelsea.png", "astronaut.png"], side = 160): Promise<PatchSource[]> {
  const out: PatchSource[] = [];
  for (const name of names) {
    const file = path.resolve(__dirname, "../../data/photos/skimage", name);
    const img = await resizeRgb(await readRgb(file), side, side);
    out.push({ file, grey: greyFloat(img), keypoints: gridKeypoints(side, side, 12, 20) });
  }
  return out;
}

export const TINY_HELD_OUT: Omit<HeldOutOptions, "roots"> = {
  keypointsPerSequence: 12,
  support: 40,
  scaleRange: [0.75, 1],
  minSeparation: 16,
  jitter: PATCH_DATA_DEFAULTS.jitter,
  noise: PATCH_DATA_DEFAULTS.noise,
  seed: 5,
};

export async function tinyHeldOut(): Promise<{ root: string; set: HeldOutSet; opts: HeldOutOptions }> {
  const root = await makeTinyDataset();
  const opts = { ...TINY_HELD_OUT, roots: [root] };
  const set = await buildHeldOut(opts, async (img) => gridKeypoints(img.width, img.height, 16, 30), { quiet: true });
  return { root, set, opts };
}
