// A tiny HPatches-layout dataset built from a bundled photo: i_same (an image
// and an identical copy) and v_shift (the image translated by (7, -4) px).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readRgb, resizeRgb, writeRgb } from "../../lib/data/image";
import { formatHomography, Homography } from "../../lib/geometry/homography";
import { warpImage } from "../../lib/geometry/warp";

export const SHIFT: Homography = [1, 0, 7, 0, 1, -4, 0, 0, 1];

export async function makeTinyDataset(): Promise<string> {
  const photo = await readRgb(path.resolve(__dirname, "../../data/photos/skimage/astronaut.png"));
  const img = await resizeRgb(photo, 192, 192);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tiny-hpatches-"));
  const write = async (seq: string, H: Homography, second: typeof img) => {
    fs.mkdirSync(path.join(root, seq));
    await writeRgb(path.join(root, seq, "1.png"), img);
    await writeRgb(path.join(root, seq, "2.png"), second);
    fs.writeFileSync(path.join(root, seq, "H_1_2"), formatHomography(H));
  };
  await write("i_same", [1, 0, 0, 0, 1, 0, 0, 0, 1], img);
  await write("v_shift", SHIFT, warpImage(img, SHIFT).image);
  return root;
}
