// A stride-1 convolution with bias and optional ReLU as one kernel, forward and backward.
//
// tf.fused.conv2d runs FusedConv2D only outside a gradient tape. Under one it falls back to
// conv + bias add + relu (its custom gradient handles a linear activation only), which costs a
// pass over the activation and keeps the pre-activation alive for the backward pass; and its
// gradient computes the input's gradient even where nothing needs it (the network's RGB input).
// Here the FusedConv2D kernel is called directly, with a registered gradient that computes each
// input's gradient only when the tape asks for it: dz = dy * step(y) for ReLU (y > 0 exactly where
// the pre-activation is), dx = conv2dBackpropInput(dz), dw = conv2dBackpropFilter(x, dz),
// dbias = sum of dz over [B,H,W].
import * as tf from "@tensorflow/tfjs";

export type ConvActivation = "linear" | "relu";

/** y [B,H,W,Co] = act(conv(x [B,H,W,Ci], filter [k,k,Ci,Co], stride 1, pad) + bias [Co]). */
export function conv2dBiasAct(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  bias: tf.Tensor,
  activation: ConvActivation,
  pad: "same" | "valid" = "same",
): tf.Tensor4D {
  const attrs = { strides: [1, 1], pad, dataFormat: "NHWC", dilations: [1, 1], activation };
  return tf.engine().runKernel("FusedConv2D", { x, filter, bias }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

interface FusedConvAttrs {
  strides: [number, number];
  pad: "same" | "valid";
  dilations?: number | [number, number];
  dimRoundingMode?: "floor" | "round" | "ceil";
  activation: string;
}

/** Registers the FusedConv2D gradient (tfjs has none) once per process; later calls do nothing. Done at import. */
function registerFusedConv2DGradient(): void {
  if (tf.getGradient("FusedConv2D") !== undefined) return;
  tf.registerGradient({
    kernelName: "FusedConv2D",
    inputsToSave: ["x", "filter"],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [x, filter, y] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
      const { strides, pad, dilations, dimRoundingMode, activation } = attrs as unknown as FusedConvAttrs;
      if (activation !== "linear" && activation !== "relu") {
        throw new Error(`FusedConv2D gradient: activation '${activation}' is not supported (linear or relu)`);
      }
      const [dh, dw] = typeof dilations === "number" ? [dilations, dilations] : dilations ?? [1, 1];
      if (dh !== 1 || dw !== 1) throw new Error("FusedConv2D gradient: dilated convolutions are not supported");
      // Made once, shared by the three gradients; the backward pass frees it with this node.
      const dz = activation === "relu" ? tf.mul(dy as tf.Tensor, tf.step(y)) : (dy as tf.Tensor);
      const common = { strides, pad, dataFormat: "NHWC", dimRoundingMode };
      return {
        x: () => tf.engine().runKernel("Conv2DBackpropInput", { dy: dz, filter }, { ...common, inputShape: x.shape } as unknown as tf.NamedAttrMap) as tf.Tensor,
        filter: () => tf.engine().runKernel("Conv2DBackpropFilter", { x, dy: dz }, { ...common, filterShape: filter.shape } as unknown as tf.NamedAttrMap) as tf.Tensor,
        bias: () => tf.sum(dz, [0, 1, 2]),
      };
    },
  });
}

registerFusedConv2DGradient();
