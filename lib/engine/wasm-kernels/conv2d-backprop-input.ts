import * as tf from "@tensorflow/tfjs";
import { explicitPadding, withScope } from "./compose";

/**
 * Conv2DBackpropInput for wasm as one forward convolution (upstream's direct loop runs ~10x slower than a
 * forward convolution of the same size).
 *
 * Along one axis, with padded input coordinate j = i + pad = q*s + r (phase r of the stride s):
 *   dx[j] = sum_{m} dy[q - m] * W[r + m*s]
 * so every phase is a stride-1 convolution of dy with the taps W[r], W[r+s], ... flipped. All s*s phases
 * come out of ONE convolution of dy with a [Mh,Mw,Co,sh*sw*Ci] filter (M = ceil(k/s) taps, phases with
 * fewer taps zero-padded), and a transpose interleaves them. With stride 1 this is the classic "flipped,
 * in/out-swapped filter" convolution; with stride 2 it skips the 3/4 zeros a zero-inserted dy would carry.
 */
function conv2dBackpropInput(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: tf.KernelBackend;
  attrs: tf.NamedAttrMap;
}): tf.TensorInfo {
  const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const attrs = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
  if (attrs.dataFormat === "NCHW") throw new Error("lib/engine/wasm-kernels: Conv2DBackpropInput supports NHWC only");
  const info = tf.backend_util.computeConv2DInfo(
    attrs.inputShape,
    filter.shape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const [b, h, w, ci] = attrs.inputShape;
  const [fh, fw, , co] = filter.shape;
  const rows = phaseGeometry(fh, info.strideHeight, info.padInfo.top, h, dy.shape[1]);
  const cols = phaseGeometry(fw, info.strideWidth, info.padInfo.left, w, dy.shape[2]);
  const [sh, sw] = [info.strideHeight, info.strideWidth];
  return withScope(args.backend, (s) => {
    // Filter: W [fh,fw,Ci,Co] -> zero-pad taps to [Mh*sh, Mw*sw] -> [Mh,sh,Mw,sw,Ci,Co] (tap k = m*s + r)
    // -> flip m -> [Mh,Mw,Co,sh,sw,Ci] -> [Mh,Mw,Co,sh*sw*Ci].
    const padded = s.run(
      "PadV2",
      { x: filter },
      { paddings: [[0, rows.taps * sh - fh], [0, cols.taps * sw - fw], [0, 0], [0, 0]], constantValue: 0 },
    );
    const split = s.reshape(padded, [rows.taps, sh, cols.taps, sw, ci, co]);
    const flipped = s.run("Reverse", { x: split }, { dims: [0, 2] });
    const phased = s.transpose(flipped, [0, 2, 5, 1, 3, 4]);
    const phaseFilter = s.reshape(phased, [rows.taps, cols.taps, co, sh * sw * ci]);
    const dyc = s.crop4d(dy, Math.max(0, -rows.padBefore), Math.max(0, -rows.padAfter), Math.max(0, -cols.padBefore), Math.max(0, -cols.padAfter));
    const phases = s.run(
      "Conv2D",
      { x: dyc, filter: phaseFilter },
      {
        strides: [1, 1],
        dilations: [1, 1],
        pad: explicitPadding(
          Math.max(0, rows.padBefore),
          Math.max(0, rows.padAfter),
          Math.max(0, cols.padBefore),
          Math.max(0, cols.padAfter),
        ) as unknown as tf.NamedAttrMap[string],
        dataFormat: "NHWC",
      },
    ); // [B,Qh,Qw,sh*sw*Ci]
    let grid = phases;
    if (sh > 1 || sw > 1) {
      const interleaved = s.transpose(s.reshape(phases, [b, rows.count, cols.count, sh, sw, ci]), [0, 1, 3, 2, 4, 5]);
      grid = s.reshape(interleaved, [b, rows.count * sh, cols.count * sw, ci]);
    }
    return s.crop4d(grid, rows.cropBefore, rows.cropAfter, cols.cropBefore, cols.cropAfter);
  });
}

interface PhaseGeometry {
  taps: number; // M = ceil(k/s): taps of the per-phase filters
  count: number; // Q: outputs per phase (positions q)
  padBefore: number; // padding of dy (negative: rows to crop)
  padAfter: number;
  cropBefore: number; // rows of the interleaved grid before dx[0]
  cropAfter: number;
}

/** One axis: kernel k, stride s, forward padding `pad` before, input size n, dy size nOut. */
function phaseGeometry(k: number, s: number, pad: number, n: number, nOut: number): PhaseGeometry {
  const taps = Math.ceil(k / s);
  const q0 = Math.floor(pad / s); // phase position of dx[0] (j = pad)
  const q1 = Math.floor((pad + n - 1) / s); // ... and of dx[n-1]
  const count = q1 - q0 + 1;
  // Output q reads dy[q - taps + 1 .. q]; the first output is q0.
  const padBefore = taps - 1 - q0;
  const padAfter = count + taps - 1 - nOut - padBefore;
  const cropBefore = pad - q0 * s;
  return { taps, count, padBefore, padAfter, cropBefore, cropAfter: count * s - cropBefore - n };
}

export const conv2dBackpropInputConfig: tf.KernelConfig = {
  kernelName: "Conv2DBackpropInput",
  backendName: "wasm",
  kernelFunc: conv2dBackpropInput as unknown as tf.KernelFunc,
};
