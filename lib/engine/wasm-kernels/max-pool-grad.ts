import * as tf from "@tensorflow/tfjs";
import { KernelScope, withScope } from "./compose";

// 2^127 twice: any nonzero float32 difference (even subnormal, >= 2^-149) becomes <= -2^105.
const HUGE = 2 ** 127;

/**
 * MaxPoolGrad from XNNPACK element-wise ops and one MaxPool. Upstream wasm's kernel (tfjs 4.22) is wrong
 * and slow: it starts each window's running maximum at 0, so a window whose values are all negative sends
 * its gradient to the wrong element (MaxPoolWithArgmax has the same flaw); it sends ties to the last
 * maximum where cpu, TensorFlow and PyTorch pick the first; and it runs ~45x slower than the forward pool.
 *
 * On the window view x6 [B,Ho,kh,Wo,kw,C] with y6 [B,Ho,1,Wo,1,C] (x6 - y6 <= 0, zero at the maximum):
 *   prio = relu((x6 - y6) * 2^254 + weight), weights 2^(K-1) .. 1 in scan order,
 *        = the weight where x == y, 0 elsewhere;
 *   first = relu(1 - (maxpool(prio) - prio)) is 1 exactly at the first maximum of each window;
 *   dx = first * dy6.
 * That is for non-overlapping windows (filter == stride, e.g. 2x2/2); overlapping ones take a slower exact path.
 */
function maxPoolGrad(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap }): tf.TensorInfo {
  const { dy, input, output } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo; output: tf.TensorInfo };
  const attrs = args.attrs as unknown as tf.MaxPoolGradAttrs;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, outHeight: ho, outWidth: wo } = info;
  const [b, h, w, c] = input.shape;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  // The grid the windows read: padding is -inf (never the maximum), rows no window reads are cropped.
  const bottom = (ho - 1) * sh + kh - top - h;
  const right = (wo - 1) * sw + kw - left - w;
  const windows = kh * kw;
  if (windows > 24) throw new Error(`lib/engine/wasm-kernels: MaxPoolGrad window ${kh}x${kw} is larger than supported (24 taps)`);
  if (kh !== sh || kw !== sw) {
    return withScope(args.backend, (s) => {
      const grid = s.padCrop4d(input, top, bottom, left, right, -Infinity);
      const dxGrid = overlappingWindows(s, dy, grid, output, kh, kw, sh, sw);
      return s.padCrop4d(dxGrid, -top, -bottom, -left, -right, 0);
    });
  }
  const weights = new Float32Array(windows).map((_, i) => 2 ** (windows - 1 - i));
  return withScope(args.backend, (s) => {
    const grid = s.padCrop4d(input, top, bottom, left, right, -Infinity);
    const x6 = s.reshape(grid, [b, ho, kh, wo, kw, c]);
    const y6 = s.reshape(output, [b, ho, 1, wo, 1, c]);
    const prio = priority(s, x6, y6, s.constant(weights, [1, 1, kh, 1, kw, 1]));
    const best = s.run("MaxPool", { x: s.reshape(prio, [b, ho * kh, wo * kw, c]) }, { filterSize: [kh, kw], strides: [kh, kw], pad: "valid" });
    const dx6 = routeToFirst(s, s.reshape(best, [b, ho, 1, wo, 1, c]), prio, s.reshape(dy, [b, ho, 1, wo, 1, c]));
    // Without padding this is a reshape of dx6, which keeps dx6's data alive when the scope ends.
    return s.padCrop4d(s.reshape(dx6, [b, ho * kh, wo * kw, c]), -top, -bottom, -left, -right, 0);
  });
}

/** prio = relu((x - y) * 2^254 + weight): `weight` where x is the window's maximum, 0 elsewhere. */
function priority(s: KernelScope, x: tf.TensorInfo, y: tf.TensorInfo, weight: tf.TensorInfo): tf.TensorInfo {
  const scale = s.constant(new Float32Array([HUGE]), []);
  const diff = s.run("Sub", { a: x, b: y });
  const scaled = s.run("Multiply", { a: diff, b: scale });
  s.free(diff);
  const scaled2 = s.run("Multiply", { a: scaled, b: scale });
  s.free(scaled);
  const withWeight = s.run("Add", { a: scaled2, b: weight });
  s.free(scaled2);
  const prio = s.run("Relu", { x: withWeight });
  s.free(withWeight);
  return prio;
}

/** relu(1 - (best - prio)) * dy: dy at each window's first maximum, 0 elsewhere. */
function routeToFirst(s: KernelScope, best: tf.TensorInfo, prio: tf.TensorInfo, dy: tf.TensorInfo): tf.TensorInfo {
  const gap = s.run("Sub", { a: best, b: prio });
  const oneMinusGap = s.run("Sub", { a: s.constant(new Float32Array([1]), []), b: gap });
  s.free(gap);
  const first = s.run("Relu", { x: oneMinusGap });
  s.free(oneMinusGap);
  const out = s.run("Multiply", { a: first, b: dy });
  s.free(first);
  return out;
}

/**
 * Overlapping windows (filter > stride), on a grid already padded/cropped to exactly what the windows
 * read. Per window tap (di,dj): the strided view x[di + s*oh, dj + s*ow] gets a priority, the maximum
 * over taps picks each window's first maximum, and the routed dy is scattered back by zero insertion.
 * Slower than the non-overlapping path (K strided slices), but exact where upstream's kernel is not.
 */
function overlappingWindows(
  s: KernelScope,
  dy: tf.TensorInfo,
  grid: tf.TensorInfo,
  output: tf.TensorInfo,
  kh: number,
  kw: number,
  sh: number,
  sw: number,
): tf.TensorInfo {
  const [b, hg, wg, c] = grid.shape;
  const [, ho, wo] = output.shape;
  const taps = kh * kw;
  const prios: tf.TensorInfo[] = [];
  for (let t = 0; t < taps; t++) {
    const di = Math.floor(t / kw);
    const dj = t % kw;
    const x = s.run(
      "StridedSlice",
      { x: grid },
      {
        begin: [0, di, dj, 0],
        end: [b, di + (ho - 1) * sh + 1, dj + (wo - 1) * sw + 1, c],
        strides: [1, sh, sw, 1],
        beginMask: 0,
        endMask: 0,
        ellipsisMask: 0,
        newAxisMask: 0,
        shrinkAxisMask: 0,
      },
    );
    prios.push(priority(s, x, output, s.constant(new Float32Array([2 ** (taps - 1 - t)]), [])));
    s.free(x);
  }
  let best = prios[0];
  for (const p of prios.slice(1)) best = s.run("Maximum", { a: best, b: p });
  let dx: tf.TensorInfo | undefined;
  for (let t = 0; t < taps; t++) {
    const di = Math.floor(t / kw);
    const dj = t % kw;
    const routed = routeToFirst(s, best, prios[t], dy);
    // Zero insertion puts window (oh,ow) at (oh*sh, ow*sw); padding shifts it to the tap's position.
    const spread = s.run(
      "PadV2",
      { x: s.reshape(routed, [b, ho, 1, wo, 1, c]) },
      { paddings: [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]], constantValue: 0 },
    );
    const placed = s.padCrop4d(s.reshape(spread, [b, ho * sh, wo * sw, c]), di, hg - di - ho * sh, dj, wg - dj - wo * sw, 0);
    dx = dx === undefined ? placed : s.run("Add", { a: dx, b: placed });
  }
  return dx as tf.TensorInfo;
}

export const maxPoolGradConfig: tf.KernelConfig = {
  kernelName: "MaxPoolGrad",
  backendName: "wasm",
  kernelFunc: maxPoolGrad as unknown as tf.KernelFunc,
};
