import * as tf from "@tensorflow/tfjs";
import { KernelScope, withScope } from "./compose";

/**
 * ResizeBilinearGrad that honours halfPixelCenters (PyTorch's align_corners=False). Upstream tfjs 4.22
 * ignores that flag in the gradient on cpu and wasm, so the gradient belongs to a different resize; the
 * cpu kernel also labels its output [B,W,H,C].
 *
 * The resize is separable: y = Rh x Rw^T per channel, with R [out,in] the 1-D interpolation matrices, so
 * dx = Rh^T dy Rw. Two ways to apply that with fast kernels:
 *  - integer shrink factors (in = f*out), where output o only reads inputs f*o .. f*o+f-1 with the same
 *    weights a[0..f) for every o: dx viewed [B,Ho,fh,Wo,fw,C] is dy [B,Ho,1,Wo,1,C] times a_h (x) a_w,
 *    one broadcast multiply;
 *  - otherwise each axis is a 1x1 convolution (a GEMM over that axis) after moving it to the channels.
 */

/** The [out,in] matrix of tfjs's 1-D bilinear sampling (same formula as its ResizeBilinear kernels). */
export function interpolationMatrix(inSize: number, outSize: number, alignCorners: boolean, halfPixelCenters: boolean): Float32Array {
  const effIn = alignCorners && outSize > 1 ? inSize - 1 : inSize;
  const effOut = alignCorners && outSize > 1 ? outSize - 1 : outSize;
  const ratio = effIn / effOut;
  const m = new Float32Array(outSize * inSize);
  for (let o = 0; o < outSize; o++) {
    const src = halfPixelCenters ? ratio * (o + 0.5) - 0.5 : ratio * o;
    const lo = Math.max(0, Math.floor(src));
    const hi = Math.min(inSize - 1, Math.ceil(src));
    const frac = src - lo;
    m[o * inSize + lo] += 1 - frac;
    m[o * inSize + hi] += frac;
  }
  return m;
}

/** The block weights a[0..f) when every output o reads only inputs f*o+r with weight a[r]; else undefined. */
function blockWeights(m: Float32Array, inSize: number, outSize: number): Float32Array | undefined {
  if (inSize % outSize !== 0) return undefined;
  const f = inSize / outSize;
  const a = m.slice(0, f);
  for (let o = 0; o < outSize; o++) {
    for (let i = 0; i < inSize; i++) {
      const inBlock = i >= f * o && i < f * o + f;
      if (m[o * inSize + i] !== (inBlock ? a[i - f * o] : 0)) return undefined;
    }
  }
  return a;
}

/** dx[..., i] = sum_o t[..., o] m[o, i]: the adjoint along the last axis, as a 1x1 convolution. */
function adjointLastAxis(s: KernelScope, t: tf.TensorInfo, m: Float32Array, inSize: number): tf.TensorInfo {
  const outSize = t.shape[3];
  const filter = s.constant(m, [1, 1, outSize, inSize]);
  return s.run("Conv2D", { x: t, filter }, { strides: [1, 1], pad: "valid", dilations: [1, 1], dataFormat: "NHWC" });
}

function resizeBilinearGrad(
  args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap },
  backendName: string,
): tf.TensorInfo {
  const { images, dy } = args.inputs as { images: tf.TensorInfo; dy: tf.TensorInfo };
  const { alignCorners, halfPixelCenters } = args.attrs as unknown as tf.ResizeBilinearGradAttrs;
  const [b, h, w, c] = images.shape;
  const [, ho, wo] = dy.shape;
  const mh = interpolationMatrix(h, ho, alignCorners, halfPixelCenters);
  const mw = interpolationMatrix(w, wo, alignCorners, halfPixelCenters);
  const ah = blockWeights(mh, h, ho);
  const aw = blockWeights(mw, w, wo);
  return withScope(
    args.backend,
    (s) => {
      if (ah !== undefined && aw !== undefined) {
        const fh = ah.length;
        const fw = aw.length;
        const mask = new Float32Array(fh * fw).map((_, k) => ah[Math.floor(k / fw)] * aw[k % fw]);
        const dx6 = s.run("Multiply", { a: s.reshape(dy, [b, ho, 1, wo, 1, c]), b: s.constant(mask, [1, 1, fh, 1, fw, 1]) });
        return s.reshape(dx6, [b, h, w, c]);
      }
      const byRows = adjointLastAxis(s, s.transpose(dy, [0, 2, 3, 1]), mh, h); // [B,Wo,C,H]
      const byCols = adjointLastAxis(s, s.transpose(byRows, [0, 3, 2, 1]), mw, w); // [B,H,C,W]
      return s.transpose(byCols, [0, 1, 3, 2]);
    },
    backendName,
  );
}

function configFor(backendName: string): tf.KernelConfig {
  return {
    kernelName: "ResizeBilinearGrad",
    backendName,
    kernelFunc: ((args: Parameters<typeof resizeBilinearGrad>[0]) => resizeBilinearGrad(args, backendName)) as unknown as tf.KernelFunc,
  };
}

export const resizeBilinearGradWasmConfig = configFor("wasm");
// The cpu backend gets the same fix: training code must compute the same gradient on every backend.
export const resizeBilinearGradCpuConfig = configFor("cpu");
// And webgpu, whose upstream kernel ignores halfPixelCenters too.
export const resizeBilinearGradWebgpuConfig = configFor("webgpu");
