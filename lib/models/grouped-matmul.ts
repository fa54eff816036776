// Many small independent matmuls (one per group g) written as one depthwise convolution:
// z[m,g,n] = sum_k x[m,k,g] y[k,g,n] is a depthwise conv of the "image" x [1,M,K,G] with the
// full-width filter y [1,K,G,N] (channel multiplier N), valid padding -> [1,M,1,G*N].
// Upstream wasm runs BatchMatMul of many small matrices in a plain loop (~1 GMAC/s), while its
// depthwise convolution goes through XNNPACK (~4x faster on the row attention's 120x160 blocks).
import * as tf from "@tensorflow/tfjs";

/**
 * x [M,K,G], y [K,G,N] -> z [M,G,N] with z[m,g,n] = sum_k x[m,k,g] y[k,g,n].
 * No gradient of its own (upstream wasm has no DepthwiseConv2dNativeBackprop* kernels): callers
 * write theirs from groupedMatMul too, as samfeat.ts' groupedRowAttention does.
 */
export function groupedMatMul(x: tf.Tensor3D, y: tf.Tensor3D): tf.Tensor3D {
  const [m, k, g] = x.shape;
  if (y.shape[0] !== k || y.shape[1] !== g) {
    throw new Error(`lib/models/grouped-matmul: x [M,K,G] and y [K,G,N] do not match: [${x.shape}] vs [${y.shape}]`);
  }
  const n = y.shape[2];
  return tf.tidy(() => {
    const image = tf.reshape(x, [1, m, k, g]) as tf.Tensor4D;
    const filter = tf.reshape(y, [1, k, g, n]) as tf.Tensor4D;
    return tf.reshape(tf.depthwiseConv2d(image, filter, 1, "valid"), [m, g, n]) as tf.Tensor3D;
  });
}
