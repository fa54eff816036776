// edge: supervision of the EAG edge map (EdgeDistillation_Loss in utils/utils.py L915-937; method.md A.3):
//   E_t = bilinear(teacherEdges → edge-map size)   (half-pixel centres, as align_corners=False)
//   L_edge = mean over flagged images of mean_pix (edges - E_t)²     (F.mse_loss)
// The release divides the stored uint8 edges by 255; PairTargets.teacherEdges is already in [0,1].
// Flags are weights (Σ flagged / max(#flagged, 1)) instead of indexing; as every image has the same
// size this equals the release's mean over the flagged images, and no flagged image gives 0.
import * as tf from "@tensorflow/tfjs";
import { resizeBilinear } from "../models/resize";
import type { PairOutputs, PairTargets } from "./types";

export function edgeLoss(outputs: PairOutputs, targets: PairTargets): tf.Scalar {
  const edges = outputs.edges;
  if (!edges) {
    throw new Error("edgeLoss: outputs.edges is absent (the network was built with eag: false); disable the 'edge' loss term or enable EAG");
  }
  return tf.tidy(() => {
    const [, h, w] = edges.shape; // [2B,H/4,W/4,1]
    // Plain bilinear without antialiasing (torch's interpolate): for a 4x shrink each output
    // averages the 2x2 pixels around the cell centre, not the whole 4x4 cell.
    const target = resizeBilinear(targets.teacherEdges, [h, w]); // [2B,h,w,1]
    const perImage = tf.mean(tf.square(tf.sub(edges, target)), [1, 2, 3]); // [2B]
    const flag = targets.teacherFlag;
    return tf.div(tf.sum(tf.mul(perImage, flag)), tf.maximum(tf.sum(flag), 1)) as tf.Scalar;
  });
}
