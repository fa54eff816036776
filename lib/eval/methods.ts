// METHOD names on the command line: a baseline name (orb, akaze, kaze) or the
// path of a trained SamFeatNet checkpoint.
import * as fs from "node:fs";
import { BASELINE_NAMES, createBaseline, isBaselineName } from "./baselines";
import type { FeatureExtractor } from "./features";
import { loadSamFeatExtractor } from "./samfeat-extractor";

export interface MethodOptions {
  /** keep at most this many keypoints per image */
  maxKeypoints?: number;
}

/** The method argument names nothing usable (bad input, not a failure). */
export class MethodError extends Error {}

/** Checks a METHOD argument without loading anything; returns it or throws MethodError. */
export function checkMethod(method: string): string {
  if (isBaselineName(method) || (fs.existsSync(method) && fs.statSync(method).isFile())) return method;
  throw new MethodError(`--method ${method}: not a baseline (${BASELINE_NAMES.join(", ")}) or a checkpoint file`);
}

export async function createExtractor(method: string, opts: MethodOptions = {}): Promise<FeatureExtractor> {
  checkMethod(method);
  if (isBaselineName(method)) {
    return createBaseline(method, opts.maxKeypoints === undefined ? {} : { maxKeypoints: opts.maxKeypoints });
  }
  try {
    return loadSamFeatExtractor(method, opts.maxKeypoints === undefined ? {} : { topK: opts.maxKeypoints });
  } catch (e) {
    throw new MethodError(`--method ${(e as Error).message}`);
  }
}
