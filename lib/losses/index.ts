// The SAMFeat training objective: L = Σ_name weight_name · L_name over the enabled terms
// (the release adds all five with weight 1, SAMFeat_trainer.py: desp + point + dis + edge + cat).
// Each term is reported under its own name so an ablation row is only a different `enabled` set.
import * as tf from "@tensorflow/tfjs";
import { descriptorLoss, DescriptorOptions, sampleDescriptors } from "./descriptor";
import { detectionLoss, DetectionOptions } from "./detection";
import { edgeLoss } from "./edge";
import { psrdLoss, PsrdOptions } from "./psrd";
import { wscLoss, WscOptions } from "./wsc";
import type { PairOutputs, PairTargets } from "./types";

export { sampleAtPoints, bilinearTaps } from "./sampling";
export type { Padding } from "./sampling";
export { detectionLoss, descriptorLoss, psrdLoss, wscLoss, edgeLoss, sampleDescriptors };
export type { DetectionOptions, DescriptorOptions, PsrdOptions, WscOptions };
export type { WscVariant } from "./wsc";
export type { PairOutputs, PairTargets } from "./types";
export { denseDistillationLoss, denseDistillationFromSamples, REGULARIZER_FORMS } from "./dense-distillation";
export type { DenseDistillationOptions, RegularizerForm } from "./dense-distillation";

export const LOSS_NAMES = ["det", "des", "dis", "wsc", "edge"] as const;
export type LossName = (typeof LOSS_NAMES)[number];
export type LossWeights = Record<LossName, number>;
export const DEFAULT_LOSS_WEIGHTS: Readonly<LossWeights> = { det: 1, des: 1, dis: 1, wsc: 1, edge: 1 };

export interface SamfeatLossOptions {
  /** Per-term weights, merged over DEFAULT_LOSS_WEIGHTS (all 1). */
  weights?: Partial<LossWeights>;
  /** The terms to compute (default: all five). */
  enabled?: Iterable<LossName>;
  detection?: DetectionOptions;
  descriptor?: Omit<DescriptorOptions, "sampled">;
  psrd?: PsrdOptions;
  wsc?: Omit<WscOptions, "sampled">;
}

export interface SamfeatLosses {
  /** Σ weight·term over the enabled terms (0 when none is enabled). */
  total: tf.Scalar;
  /** The unweighted value of each enabled term. */
  terms: Partial<Record<LossName, tf.Scalar>>;
}

export function samfeatLosses(outputs: PairOutputs, targets: PairTargets, options: SamfeatLossOptions = {}): SamfeatLosses {
  const weights: LossWeights = { ...DEFAULT_LOSS_WEIGHTS, ...options.weights };
  const enabled = new Set<LossName>(options.enabled ?? LOSS_NAMES);
  for (const name of enabled) {
    if (!LOSS_NAMES.includes(name)) throw new Error(`samfeatLosses: unknown loss "${name}" (expected one of ${LOSS_NAMES.join(", ")})`);
  }
  const out = tf.tidy(() => {
    // des and wsc read the same sampled descriptors: sample once.
    const sampled = enabled.has("des") && enabled.has("wsc") ? sampleDescriptors(outputs, targets) : undefined;
    const compute: Record<LossName, () => tf.Scalar> = {
      det: () => detectionLoss(outputs, targets, options.detection),
      des: () => descriptorLoss(outputs, targets, { ...options.descriptor, sampled }),
      dis: () => psrdLoss(outputs, targets, options.psrd),
      wsc: () => wscLoss(outputs, targets, { ...options.wsc, sampled }),
      edge: () => edgeLoss(outputs, targets),
    };
    const terms: Partial<Record<LossName, tf.Scalar>> = {};
    let total: tf.Scalar = tf.scalar(0);
    for (const name of LOSS_NAMES) {
      if (!enabled.has(name)) continue;
      const t = compute[name]();
      terms[name] = t;
      total = tf.add(total, tf.mul(t, weights[name]));
    }
    return { total, terms } as unknown as tf.TensorContainerObject;
  });
  return out as unknown as SamfeatLosses;
}
