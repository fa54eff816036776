// METHOD names on the command line: a baseline name (orb, akaze, kaze), the
// path of a trained SamFeatNet checkpoint, or desdis:FILE, a patch network (a
// patch checkpoint or data/desdis-weights/desdis-<d>.safetensors) describing the
// keypoints of a detector (kaze or samfeat:CHECKPOINT; lib/desdis/patch-extractor.ts).
import * as fs from "node:fs";
import { BASELINE_NAMES, createBaseline, isBaselineName } from "./baselines";
import type { FeatureExtractor } from "./features";
import { loadSamFeatExtractor } from "./samfeat-extractor";

export interface MethodOptions {
  /** keep at most this many keypoints per image */
  maxKeypoints?: number;
  /** desdis:FILE only: the keypoint detector, kaze (default) or samfeat:CHECKPOINT */
  detector?: string;
  /** SAMFeat checkpoints only: keep pixels whose detection probability is at least this (default 0.9, the release's) */
  threshold?: number;
}

const DESDIS_PREFIX = "desdis:";

export function isPatchMethod(method: string): boolean {
  return method.startsWith(DESDIS_PREFIX);
}

/** The method argument names nothing usable (bad input, not a failure). */
export class MethodError extends Error {}

/** Checks a METHOD argument without loading anything; returns it or throws MethodError. */
export function checkMethod(method: string): string {
  if (isPatchMethod(method)) {
    const file = method.slice(DESDIS_PREFIX.length);
    if (fs.existsSync(file) && fs.statSync(file).isFile()) return method;
    throw new MethodError(`--method ${method}: ${file}: patch network file not found`);
  }
  if (isBaselineName(method) || (fs.existsSync(method) && fs.statSync(method).isFile())) return method;
  throw new MethodError(`--method ${method}: not a baseline (${BASELINE_NAMES.join(", ")}) or a checkpoint file`);
}

export async function createExtractor(method: string, opts: MethodOptions = {}): Promise<FeatureExtractor> {
  checkMethod(method);
  if (isPatchMethod(method)) {
    const { loadPatchExtractor } = await import("../desdis/patch-extractor");
    try {
      return await loadPatchExtractor(method.slice(DESDIS_PREFIX.length), opts.detector ?? "kaze", opts.maxKeypoints);
    } catch (e) {
      throw new MethodError(`--method ${(e as Error).message}`);
    }
  }
  if (opts.detector !== undefined) throw new MethodError(`--detector ${opts.detector}: only a desdis:FILE method takes a detector`);
  if (opts.threshold !== undefined && isBaselineName(method)) throw new MethodError(`--threshold ${opts.threshold}: only a SAMFeat checkpoint takes a detection threshold`);
  if (isBaselineName(method)) {
    return createBaseline(method, opts.maxKeypoints === undefined ? {} : { maxKeypoints: opts.maxKeypoints });
  }
  try {
    return loadSamFeatExtractor(method, {
      ...(opts.maxKeypoints === undefined ? {} : { topK: opts.maxKeypoints }),
      ...(opts.threshold === undefined ? {} : { threshold: opts.threshold }),
    });
  } catch (e) {
    throw new MethodError(`--method ${(e as Error).message}`);
  }
}
