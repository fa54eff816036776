// The bare network step that npm run bench times: the SAMFeat network, torch_reference.py's surrogate
// loss and Adam, with no data, teacher or real loss. Kept apart from the benchmark (which reads the
// engine's state) so the trainer can time it beside its own steps without importing the engine.
import * as tf from "@tensorflow/tfjs";
import { Adam } from "./adam";
import { SamFeatNet, SamFeatOutputs } from "./samfeat";

/**
 * torch_reference.py's loss: |heatmap| mean + mean of channel-normalised descriptors
 * + attention mean + distill^2 mean + edge mean. It touches every output, so the
 * backward pass covers the whole network.
 */
export function surrogateLoss(out: SamFeatOutputs): tf.Scalar {
  return tf.tidy(() => {
    // F.normalize(desc, dim=1): x / max(||x||, 1e-12).
    const norm = tf.maximum(tf.sqrt(tf.sum(tf.square(out.descriptors), 3, true)), 1e-12);
    return tf.addN([
      tf.mean(tf.abs(out.heatmap)),
      tf.mean(tf.div(out.descriptors, norm)),
      tf.mean(out.attention),
      tf.mean(tf.square(out.distill)),
      ...(out.edges ? [tf.mean(out.edges)] : []),
    ]) as tf.Scalar;
  });
}

/** One optimisation step on `images`; returns the loss before the update. */
export function trainStep(net: SamFeatNet, opt: Adam, images: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => {
    const names = [...net.params.keys()];
    const { value, grads } = tf.variableGrads(() => surrogateLoss(net.apply(images)), names.map((n) => net.params.get(n)!));
    // variableGrads keys gradients by the variables' internal names.
    opt.step(new Map(names.map((n) => [n, grads[net.params.get(n)!.name]])));
    return value;
  });
}

/** The median of `xs` (the mean of the two middle values for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
