// One synthetic view of an image: random homography + warp + validity mask.
// Training pairs and the synthetic benchmark both go through here, so they see
// the same geometry.
import type { RgbImage } from "../util/image-types";
import { Homography } from "./homography";
import { Rng } from "./random";
import { HomographySamplerOptions, sampleHomography } from "./sampler";
import { warpImage } from "./warp";

export interface WarpedView {
  image: RgbImage;
  /** [H,W] 1 where the pixel comes from inside the source image */
  mask: Uint8Array;
  /** source pixel (x, y, 1) -> warped pixel */
  homography: Homography;
}

/** Warp `img` by a freshly sampled homography (output the same size as the input). */
export function randomWarp(img: RgbImage, rng: Rng, sampler: Partial<HomographySamplerOptions> = {}): WarpedView {
  const homography = sampleHomography(img.width, img.height, rng, sampler);
  const { image, mask } = warpImage(img, homography);
  return { image, mask, homography };
}
