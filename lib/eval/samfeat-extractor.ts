// SAMFeat's extraction protocol (method.md A.6) for a SamFeatNet:
//   resize each side to the nearest multiple of 16 (bilinear, half-pixel centres as cv.resize),
//   prob = sigmoid(heatmap + up(edges)), keep prob >= threshold, NMS radius 4, border 4, top-k,
//   descriptors = bilinear samples of the raw map, L2-normalised, times the sampled attention
//   (border padding), keypoints scaled back to the original image.
import * as tf from "@tensorflow/tfjs";
import { RgbImage, rgbToTensor } from "../data/image";
import { loadCheckpoint } from "../models/checkpoint";
import { detectionLogits, normalizeImage, SamFeatNet } from "../models/samfeat";
import { FeatureExtractor, Features } from "./features";
import { detectKeypoints } from "./keypoints";
import { sampleBilinear } from "./sampling";

export interface SamFeatExtractOptions {
  threshold: number;
  nmsRadius: number;
  border: number;
  /** keep the highest-scoring points (SAMFeat's export uses 10000) */
  topK: number;
}

export const SAMFEAT_EXTRACT_DEFAULTS: SamFeatExtractOptions = { threshold: 0.9, nmsRadius: 4, border: 4, topK: 10000 };

/** round(s / 16) * 16, at least 16. */
export function inputSide(s: number): number {
  return Math.max(16, Math.round(s / 16) * 16);
}

/** The dense maps of one image, read back to the CPU: prob [Hr,Wr], descriptors [Hr/4,Wr/4,D], attention [Hr/4,Wr/4]. */
export function denseOutputs(net: SamFeatNet, img: RgbImage) {
  const Hr = inputSide(img.height), Wr = inputSide(img.width);
  const [prob, desc, att] = tf.tidy(() => {
    const rgb = rgbToTensor(img).expandDims(0) as tf.Tensor4D;
    const resized = Hr === img.height && Wr === img.width ? rgb : tf.image.resizeBilinear(rgb, [Hr, Wr], false, true);
    const out = net.apply(normalizeImage(resized));
    return [tf.sigmoid(detectionLogits(out)), out.descriptors, out.attention];
  });
  const result = {
    width: Wr,
    height: Hr,
    prob: prob.dataSync() as Float32Array,
    descriptors: { width: desc.shape[2]!, height: desc.shape[1]!, channels: desc.shape[3]!, data: desc.dataSync() as Float32Array },
    attention: { width: att.shape[2]!, height: att.shape[1]!, channels: 1, data: att.dataSync() as Float32Array },
  };
  tf.dispose([prob, desc, att]);
  return result;
}

export function extractSamFeat(net: SamFeatNet, img: RgbImage, opts: Partial<SamFeatExtractOptions> = {}): Features {
  const o = { ...SAMFEAT_EXTRACT_DEFAULTS, ...opts };
  const d = denseOutputs(net, img);
  const det = detectKeypoints(d.prob, d.width, d.height, o);
  const n = det.scores.length;
  const D = d.descriptors.channels;
  const raw = sampleBilinear(d.descriptors, det.keypoints, d.width, d.height, "zeros");
  const weight = sampleBilinear(d.attention, det.keypoints, d.width, d.height, "border");
  const descriptors = new Float32Array(n * D);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < D; j++) s += raw[i * D + j] ** 2;
    const scale = s > 0 ? weight[i] / Math.sqrt(s) : 0;
    for (let j = 0; j < D; j++) descriptors[i * D + j] = raw[i * D + j] * scale;
  }
  const keypoints = new Float32Array(2 * n);
  const sx = img.width / d.width, sy = img.height / d.height;
  for (let i = 0; i < n; i++) {
    keypoints[2 * i] = det.keypoints[2 * i] * sx;
    keypoints[2 * i + 1] = det.keypoints[2 * i + 1] * sy;
  }
  return { keypoints, descriptors, scores: det.scores, dim: D };
}

/** Wrap a network as a FeatureExtractor. */
function samfeatExtractor(net: SamFeatNet, name: string, opts: Partial<SamFeatExtractOptions> = {}): FeatureExtractor {
  return {
    name,
    extract: (img) => extractSamFeat(net, img, opts),
    dispose: () => net.dispose(),
  };
}

/** Load a checkpoint file as a FeatureExtractor named after the file. */
export function loadSamFeatExtractor(file: string, opts: Partial<SamFeatExtractOptions> = {}): FeatureExtractor {
  return samfeatExtractor(loadCheckpoint(file), file, opts);
}
