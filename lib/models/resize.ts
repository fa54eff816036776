// Bilinear resizing with PyTorch's F.interpolate(mode="bilinear", align_corners=False)
// semantics, forward AND backward, on every backend.
//
// tf.image.resizeBilinear(x, size, alignCorners=false, halfPixelCenters=true)
// samples exactly where PyTorch does (source = (dst + 0.5) * in/out - 0.5,
// clamped at 0). Its gradient kernel (ResizeBilinearGrad, cpu and wasm in
// tfjs 4.22) ignores halfPixelCenters, so the gradient it returns belongs to a
// different resize; the cpu one also swaps H and W in its output shape. lib/engine
// replaces those kernels when initEngine runs, but the network has to train
// correctly on any backend it is handed, so here the gradient is the exact
// adjoint, dx = Ry^T dy Rx, with the sparse interpolation matrices applied as
// small dense matmuls along H and then W.
import * as tf from "@tensorflow/tfjs";

/** The [out,in] matrix of 1-D half-pixel linear interpolation (rows sum to 1). */
export function interpolationMatrix(inSize: number, outSize: number): Float32Array {
  const m = new Float32Array(outSize * inSize);
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    const src = Math.max((o + 0.5) * scale - 0.5, 0);
    const i0 = Math.min(Math.floor(src), inSize - 1);
    const i1 = Math.min(i0 + 1, inSize - 1);
    const l = src - i0;
    m[o * inSize + i0] += 1 - l;
    m[o * inSize + i1] += l;
  }
  return m;
}

/** Multiply axis 1 (H) or 2 (W) of t [B,H,W,C] by m [out,in]. */
function alongAxis(t: tf.Tensor4D, m: tf.Tensor2D, axis: 1 | 2): tf.Tensor4D {
  const [b, h, w, c] = t.shape;
  const perm = axis === 1 ? [1, 0, 2, 3] : [2, 0, 1, 3];
  const moved = tf.transpose(t, perm);
  const n = axis === 1 ? h : w;
  const flat = tf.reshape(moved, [n, moved.size / n]);
  const out = tf.matMul(m, flat);
  const back = tf.reshape(out, axis === 1 ? [m.shape[0], b, w, c] : [m.shape[0], b, h, c]) as tf.Tensor4D;
  return tf.transpose(back, axis === 1 ? [1, 0, 2, 3] : [1, 2, 0, 3]);
}

/** Forward by tf.image.resizeBilinear, backward by the exact adjoint. */
function exactResize(size: [number, number]) {
  const [oh, ow] = size;
  return tf.customGrad((...inputs) => {
    const x = inputs[0] as tf.Tensor4D;
    const value = tf.image.resizeBilinear(x, [oh, ow], false, true);
    const gradFunc = (dy: tf.Tensor) => {
      const [, ih, iw] = x.shape;
      const ryT = tf.tensor2d(interpolationMatrix(ih, oh), [oh, ih]).transpose() as tf.Tensor2D;
      const rxT = tf.tensor2d(interpolationMatrix(iw, ow), [ow, iw]).transpose() as tf.Tensor2D;
      return alongAxis(alongAxis(dy as tf.Tensor4D, ryT, 1), rxT, 2);
    };
    return { value, gradFunc };
  });
}

/**
 * Resize x [B,H,W,C] to [B,h,w,C] like PyTorch's bilinear, align_corners=False.
 * Same size is the identity (as in PyTorch); an even integer shrink factor on
 * both axes is an exact 2x2 average pool (fast, with a native gradient).
 */
export function resizeBilinear(x: tf.Tensor4D, size: [number, number]): tf.Tensor4D {
  const [, h, w] = x.shape;
  const [oh, ow] = size;
  if (oh === h && ow === w) return x;
  const fh = h / oh;
  const fw = w / ow;
  if (Number.isInteger(fh) && Number.isInteger(fw) && fh % 2 === 0 && fw % 2 === 0) {
    // Source rows of output o: f*o + f/2 - 1 and f*o + f/2, each with weight 1/2.
    return tf.tidy(() => {
      const from = tf.slice(x, [0, fh / 2 - 1, fw / 2 - 1, 0], [-1, h - (fh / 2 - 1), w - (fw / 2 - 1), -1]);
      return tf.avgPool(from, [2, 2], [fh, fw], "valid");
    });
  }
  return exactResize(size)(x) as tf.Tensor4D;
}
