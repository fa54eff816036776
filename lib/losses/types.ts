// What every SAMFeat loss reads: the network's outputs on a batch of image pairs, and the batch's
// targets. A batch of B pairs is run as 2B images, the B first views then the B second views, so
// row b and row B+b of every [2B,...] tensor are the two sides of pair b.
// Every tensor here is a constant (no gradient flows into the batch); the outputs carry gradients.
import type * as tf from "@tensorflow/tfjs";

/** SamFeatNet outputs on [2B,H,W,3] (lib/models/samfeat.ts). */
export interface PairOutputs {
  heatmap: tf.Tensor4D; // [2B,H,W,1] detector logits, full resolution
  descriptors: tf.Tensor4D; // [2B,H/4,W/4,D] raw (not normalised)
  attention: tf.Tensor4D; // [2B,H/4,W/4,1] softplus attention (> 0)
  distill: tf.Tensor4D; // [2B,H/8,W/8,Cd] the PSRD student features
  /** [2B,H/4,W/4,1] sigmoid edge map; absent when the network's EAG paths are off. */
  edges?: tf.Tensor4D;
}

export interface PairTargets {
  /** Number of pairs B. */
  pairs: number;
  /** Image side lengths H, W (multiples of 8). */
  height: number;
  width: number;
  /** [2B,H,W,1] binary keypoint map: the pseudo-label points rounded to the nearest pixel. */
  keypoints: tf.Tensor4D;
  /** [2B,H,W,1] 1 where the detector loss applies (the warp-validity mask of a warped view, else 1). */
  pointMask: tf.Tensor4D;
  /**
   * [2B,n,2] pixel coordinates (x, y) of the n correspondences in each view: row b holds the points
   * of pair b in its first view, row B+b the same points seen in its second view (point i <-> point i).
   */
  points: tf.Tensor3D;
  /** [B,n] 1 where correspondence i of pair b is usable (inside both views). */
  valid: tf.Tensor2D;
  /** [B,n,n] 1 where points i and j of pair b lie within 16 px of each other in the second view (diagonal included). */
  notSearch: tf.Tensor3D;
  /** [2B,n] the teacher's category (group label) at each point, -1 where the point is invalid or has no label. */
  categories: tf.Tensor2D;
  /** [2B] 1 where the image's teacher targets are aligned with it (the teacher losses use only those images). */
  teacherFlag: tf.Tensor1D;
  /** [2B,H/8,W/8,C] teacher embedding on the stride-8 grid (cell (i,j) at pixel (8i+4, 8j+4)); zero rows where the flag is 0. */
  teacherEmbedding: tf.Tensor4D;
  /** [2B,H,W,1] teacher edges in [0,1] at full resolution. */
  teacherEdges: tf.Tensor4D;
}
