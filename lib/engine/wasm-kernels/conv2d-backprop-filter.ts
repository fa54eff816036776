import * as tf from "@tensorflow/tfjs";
import { explicitPadding, withScope } from "./compose";

/**
 * Conv2DBackpropFilter for wasm as one forward convolution (upstream wasm has no such kernel).
 *
 *   dW[kh,kw,ci,co] = sum_{b,oh,ow} xpad[b, oh*s + kh, ow*s + kw, ci] * dy[b,oh,ow,co]
 *
 * is a VALID convolution of x^T [Ci,H,W,B] (batch as channels) with dy^T [Ho,Wo,B,Co] as the filter,
 * dilated by the original stride, giving [Ci,kh,kw,Co]. The original padding becomes the convolution's
 * explicit padding, trimmed so the output is exactly kh x kw.
 */
/**
 * Output channels up to which the roles of x and dy are swapped (stride 1): the recast above has Co
 * output channels, and XNNPACK runs Co = 1 (the detector heads) at a tenth of its speed. Swapped,
 * dy^T [Co,Ho,Wo,B] is the image and x^T [H,W,B,Ci] the filter, so the convolution has Ci outputs;
 * its result is dW flipped in kh and kw:
 *   dW[k] = sum_t x[t] dy[t + top - k] = out[fh-1-k], out[j] = sum_t dyp[t + j] x[t],
 * dyp being dy padded by fh-1-top before and top+H-Ho after (rows; columns alike).
 */
const SWAP_MAX_OUT = 4;

/**
 * dy's pixels per recast convolution. The recast's kernel is dy's whole Ho x Wo plane, and XNNPACK
 * runs a kernel of 192 x 192 taps at about half the speed of bands of 96 x 96 (its indirection
 * buffer holds a pointer per output pixel and tap), so large planes are cut into bands of rows,
 * summed after.
 */
const TAPS_PER_BAND = 96 * 96;

function conv2dBackpropFilter(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: tf.KernelBackend;
  attrs: tf.NamedAttrMap;
}): tf.TensorInfo {
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const attrs = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  if (attrs.dataFormat === "NCHW") throw new Error("lib/engine/wasm-kernels: Conv2DBackpropFilter supports NHWC only");
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw, outHeight: ho, outWidth: wo } = info;
  const [, h, w] = x.shape;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  // Rows the forward pass actually read: (ho-1)*sh + fh from padded row 0. Anything beyond is dropped.
  const bottom = (ho - 1) * sh + fh - top - h;
  const right = (wo - 1) * sw + fw - left - w;
  const co = attrs.filterShape[3];
  const before = [fh - 1 - top, fw - 1 - left]; // dy padding for the swapped recast, rows and cols
  const after = [top + h - ho, left + w - wo];
  if (co <= SWAP_MAX_OUT && co < x.shape[3] && sh === 1 && sw === 1 && [...before, ...after].every((p) => p >= 0)) {
    return withScope(args.backend, (s) => {
      const dyt = s.transpose(dy, [3, 1, 2, 0]); // [Co,Ho,Wo,B]
      const xt = s.transpose(x, [1, 2, 0, 3]); // [H,W,B,Ci]
      const conv = s.run(
        "Conv2D",
        { x: dyt, filter: xt },
        {
          strides: [1, 1],
          dilations: [1, 1],
          pad: explicitPadding(before[0], after[0], before[1], after[1]) as unknown as tf.NamedAttrMap[string],
          dataFormat: "NHWC",
        },
      ); // [Co,fh,fw,Ci], flipped in fh and fw
      return s.transpose(s.run("Reverse", { x: conv }, { dims: [1, 2] }), [1, 2, 3, 0]);
    });
  }
  return withScope(args.backend, (s) => {
    const xc = s.crop4d(x, 0, Math.max(0, -bottom), 0, Math.max(0, -right));
    const xt = s.transpose(xc, [3, 1, 2, 0]); // [Ci,H,W,B]
    const dyt = s.transpose(dy, [1, 2, 0, 3]); // [Ho,Wo,B,Co]
    const hc = xc.shape[1];
    // Bands of dy rows, each with the x rows its taps read (clipped to x; the rest is padding).
    const bands = Math.ceil((ho * wo) / TAPS_PER_BAND);
    const rowsPerBand = Math.ceil(ho / bands);
    let sum: tf.TensorInfo | undefined;
    for (let r0 = 0; r0 < ho; r0 += rowsPerBand) {
      const r1 = Math.min(ho, r0 + rowsPerBand);
      const from = r0 * sh - top; // first x row read, in unpadded coordinates (may be < 0)
      const to = (r1 - 1) * sh + fh - top; // one past the last
      const [a, b] = [Math.max(0, from), Math.min(hc, to)];
      const whole = r0 === 0 && r1 === ho;
      const xs = whole ? xt : s.run("Slice", { x: xt }, { begin: [0, a, 0, 0], size: [-1, b - a, -1, -1] });
      const dys = whole ? dyt : s.run("Slice", { x: dyt }, { begin: [r0, 0, 0, 0], size: [r1 - r0, -1, -1, -1] });
      const conv = s.run(
        "Conv2D",
        { x: xs, filter: dys },
        {
          strides: [1, 1],
          dilations: [sh, sw],
          pad: explicitPadding(a - from, to - b, left, Math.max(0, right)) as unknown as tf.NamedAttrMap[string],
          dataFormat: "NHWC",
        },
      ); // [Ci,fh,fw,Co]
      sum = sum === undefined ? conv : s.run("Add", { a: sum, b: conv });
    }
    return s.transpose(sum!, [1, 2, 0, 3]);
  });
}

export const conv2dBackpropFilterConfig: tf.KernelConfig = {
  kernelName: "Conv2DBackpropFilter",
  backendName: "wasm",
  kernelFunc: conv2dBackpropFilter as unknown as tf.KernelFunc,
};
