// The SAMFeat network (method.md A.2), layer for layer as the release's
// nets/network.py and bench/torch_reference.py, in NHWC with a channel
// multiplier `width`:
//
//   c1  conv3x3 3->C1, C1->C1 (ReLU)                 s1
//   c2  maxpool2; conv3x3 C1->C2, C2->C2              s2
//   c3  maxpool2; conv3x3 C2->C3, C3->C3              s4
//   c4  maxpool2; conv3x3 C3->C4, C4->C4              s8
//   dist = conv3x3 C4->Cd (no activation)             s8, the distillation student
//   c4  += conv3x3 Cd->C4 (dist)
//   feature = cat(up(c1), up(c2), c3, up(c4))          s4, Cf = C1+C2+C3+C4
//   edges = sigmoid(conv1x1 Cf->1 (feature))
//   heatmap = sum_k hw_k * up(conv3x3 C_k->1 (c_k)) at s1, with c3 -> c3*edges + c3
//   feature += RowAttention(feature * edges)
//   attention = softplus(conv3x3 1->1 (mean_c feature))
//   descriptors = conv3x3 Cf->D (feature)
//
// Channel counts are max(4, round(n * width)) with Python's round-half-even,
// so every width builds the same shapes as the PyTorch reference.
import * as tf from "@tensorflow/tfjs";
import { engineInfo } from "../engine/state";
import { conv2dBiasAct } from "./fused-conv";
import { groupedMatMul } from "./grouped-matmul";
import { convBiasUniform, kaimingNormalFanOut, seededUniform } from "./init";
import { resizeBilinear } from "./resize";

export interface SamFeatOptions {
  /** Channel multiplier on the trunk and heads (the descriptor size is descDim regardless). */
  width?: number;
  /** Seed of the weight initialisation. */
  seed?: number;
  /** Descriptor dimension. */
  descDim?: number;
  /**
   * The edge-attention-guidance paths (EAG): the edge head, the c3 gating, the row attention on the
   * edge-gated features and, at inference, the edge map added to the detection logits. Off, the
   * network is the MTLDesc-like baseline (method.md A.9) and has none of those parameters.
   */
  eag?: boolean;
}

export interface SamFeatOutputs {
  heatmap: tf.Tensor4D; // [B,H,W,1] detector logits, full resolution
  descriptors: tf.Tensor4D; // [B,H/4,W/4,D] raw (not normalised)
  attention: tf.Tensor4D; // [B,H/4,W/4,1] softplus attention (> 0)
  distill: tf.Tensor4D; // [B,H/8,W/8,Cd] the PSRD student features
  edges?: tf.Tensor4D; // [B,H/4,W/4,1] sigmoid edge map; absent when the EAG paths are off
}

export const SAMFEAT_DEFAULTS: Required<SamFeatOptions> = { width: 1, seed: 0, descDim: 128, eag: true };

/** The release's EdgeAttentionModule(384, 10000) scales scores by 10000**-0.5. */
const ROW_ATTENTION_SCALE = 10000 ** -0.5;

/** Python 3's round(): halves go to the even neighbour. */
function pyRound(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Channels of a layer that has n channels at width 1. */
export function scaledChannels(n: number, width: number): number {
  return Math.max(4, pyRound(n * width));
}

export interface ConvSpec {
  name: string; // parameter prefix: "<name>.weight" [k,k,cin,cout], "<name>.bias" [cout]
  k: number;
  cin: number;
  cout: number;
}

/** Every convolution of the network, in PyTorch's parameter order. */
export function samfeatConvs(opts: SamFeatOptions = {}): ConvSpec[] {
  const { width, descDim, eag } = { ...SAMFEAT_DEFAULTS, ...opts };
  const c = (n: number) => scaledChannels(n, width);
  const [c1, c2, c3, c4, cd] = [c(64), c(64), c(128), c(128), c(256)];
  const cf = c1 + c2 + c3 + c4;
  const conv = (name: string, cin: number, cout: number, k = 3): ConvSpec => ({ name, k, cin, cout });
  return [
    conv("c1.0", 3, c1), conv("c1.2", c1, c1),
    conv("c2.0", c1, c2), conv("c2.2", c2, c2),
    conv("c3.0", c2, c3), conv("c3.2", c3, c3),
    conv("c4.0", c3, c4), conv("c4.2", c4, c4),
    conv("dist", c4, cd), conv("fuse", cd, c4),
    ...(eag ? [conv("edge", cf, 1, 1)] : []),
    conv("h.0", c1, 1), conv("h.1", c2, 1), conv("h.2", c3, 1), conv("h.3", c4, 1),
    conv("att_in", 1, 1),
    ...(eag ? [conv("rows.q", cf, cf, 1), conv("rows.k", cf, cf, 1), conv("rows.v", cf, cf, 1)] : []),
    conv("desc", cf, descDim),
  ];
}

/** The fusion weights of the four detector heads, initialised as in the release. */
const HEAD_WEIGHTS_INIT = [0.1, 0.2, 0.3, 0.4];

export class SamFeatNet {
  readonly options: Required<SamFeatOptions>;
  /** Parameters under PyTorch's names; conv weights are HWIO [k,k,cin,cout], "hw" is [4]. */
  readonly params: Map<string, tf.Variable>;

  constructor(opts: SamFeatOptions = {}) {
    this.options = { ...SAMFEAT_DEFAULTS, ...opts };
    const { width, descDim, seed } = this.options;
    if (!(width > 0) || !Number.isFinite(width)) throw new Error(`SamFeatNet: width must be a positive number, got ${width}`);
    if (!Number.isInteger(descDim) || descDim < 1) throw new Error(`SamFeatNet: descDim must be a positive integer, got ${descDim}`);
    const uniform = seededUniform(seed);
    this.params = new Map();
    // tidy frees the initial values; the variables keep their own reference to the data.
    tf.tidy(() => {
      for (const { name, k, cin, cout } of samfeatConvs(this.options)) {
        this.params.set(`${name}.weight`, tf.variable(tf.tensor4d(kaimingNormalFanOut(k, cin, cout, uniform), [k, k, cin, cout])));
        this.params.set(`${name}.bias`, tf.variable(tf.tensor1d(convBiasUniform(k, cin, cout, uniform))));
        if (name === "h.3") this.params.set("hw", tf.variable(tf.tensor1d(HEAD_WEIGHTS_INIT)));
      }
    });
  }

  numParams(): number {
    let n = 0;
    for (const p of this.params.values()) n += p.size;
    return n;
  }

  private conv(x: tf.Tensor4D, name: string, relu = false): tf.Tensor4D {
    const weight = this.params.get(`${name}.weight`) as tf.Tensor4D;
    return conv2dBiasAct(x, weight, this.params.get(`${name}.bias`)!, relu ? "relu" : "linear");
  }

  /**
   * Per-channel H x H attention over rows, W being the feature dimension (the
   * release applies torch.matmul to [B,C,H,W] tensors): for each channel,
   * softmax(q k^T * 10000^-0.5) v with q, k, v [H,W].
   * The input is made channel-first once, [C, B*H*W], and the 1x1 projections are
   * matmuls on it (see channelFirstProjection).
   */
  private rowAttention(x: tf.Tensor4D): tf.Tensor4D {
    const [b, h, w, c] = x.shape;
    const pixels = tf.reshape(x, [b * h * w, c]) as tf.Tensor2D;
    const channels = tf.reshape(tf.transpose(x, [3, 0, 1, 2]), [c, b * h * w]) as tf.Tensor2D;
    const project = (name: string) => {
      const weight = tf.reshape(this.params.get(`${name}.weight`)!, [c, c]) as tf.Tensor2D;
      const bias = tf.reshape(this.params.get(`${name}.bias`)!, [c, 1]);
      return tf.reshape(tf.add(channelFirstProjection(weight, channels, pixels), bias), [c * b, h, w]) as tf.Tensor3D;
    };
    const [q, k, v] = [project("rows.q"), project("rows.k"), project("rows.v")];
    if (!groupedMatMulIsFaster()) {
      const a = tf.softmax(tf.mul(tf.matMul(q, k, false, true), ROW_ATTENTION_SCALE));
      return tf.transpose(tf.reshape(tf.matMul(a, v), [c, b, h, w]), [1, 2, 3, 0]) as tf.Tensor4D;
    }
    // Groups g = (channel, image), as q, k and v are ordered.
    return tf.transpose(tf.reshape(groupedRowAttention(q, k, v), [h, c, b, w]), [2, 0, 3, 1]) as tf.Tensor4D;
  }

  /** images [B,H,W,3] in [-1,1] (see normalizeImage), H and W multiples of 8. */
  apply(images: tf.Tensor4D): SamFeatOutputs {
    const [, H, W, C] = images.shape;
    if (C !== 3 || H % 8 !== 0 || W % 8 !== 0 || H === 0 || W === 0) {
      throw new Error(`SamFeatNet.apply: expected [B,H,W,3] with H and W positive multiples of 8, got [${images.shape}]`);
    }
    const out = tf.tidy(() => {
      const block = (x: tf.Tensor4D, name: string) => this.conv(this.conv(x, `${name}.0`, true), `${name}.2`, true);
      const pool = (x: tf.Tensor4D) => tf.maxPool(x, 2, 2, "valid");
      const f1 = block(images, "c1");
      const f2 = block(pool(f1), "c2");
      const f3 = block(pool(f2), "c3");
      let f4 = block(pool(f3), "c4");
      const distill = this.conv(f4, "dist");
      f4 = tf.add(f4, this.conv(distill, "fuse"));

      const s4: [number, number] = [f3.shape[1], f3.shape[2]];
      let feature = tf.concat([resizeBilinear(f1, s4), resizeBilinear(f2, s4), f3, resizeBilinear(f4, s4)], 3);
      const eag = this.options.eag;
      const edges = eag ? tf.sigmoid(this.conv(feature, "edge")) : undefined;

      const g3 = edges ? (tf.add(tf.mul(f3, edges), f3) as tf.Tensor4D) : f3;
      const hw = this.params.get("hw")!;
      const heatmap = tf.addN(
        [f1, f2, g3, f4].map((t, i) => tf.mul(resizeBilinear(this.conv(t, `h.${i}`), [H, W]), tf.slice(hw, [i], [1]))),
      ) as tf.Tensor4D;

      if (edges) feature = tf.add(feature, this.rowAttention(tf.mul(feature, edges)));
      const attention = tf.softplus(this.conv(tf.mean(feature, 3, true), "att_in"));
      const descriptors = this.conv(feature, "desc");
      return { heatmap, descriptors, attention, distill, ...(edges ? { edges } : {}) } as unknown as tf.TensorContainerObject;
    });
    return out as unknown as SamFeatOutputs;
  }

  dispose(): void {
    for (const p of this.params.values()) p.dispose();
    this.params.clear();
  }
}

/**
 * Upstream wasm's BatchMatMul loops in plain code over many small matrices; its depthwise
 * convolution (groupedMatMul) is XNNPACK's. The native kernels' BatchMatMul is fast itself.
 */
function groupedMatMulIsFaster(): boolean {
  return tf.getBackend() === "wasm" && engineInfo()?.native !== true;
}

/**
 * softmax(q k^T * scale) v per group with groupedMatMul: q, k, v [G,H,W] -> [H,G,W].
 * One custom gradient for the whole attention: the forward pass's transposed copies are freed
 * right away (the tape keeps only q, k, v and the attention), which the batch-4 training step
 * needs to fit in the wasm heap. With A = softmax(S), O = A v:
 * dA = dO v^T, dv = A^T dO, dS = A * (dA - rowsum(dA * A)) * scale, dq = dS k, dk = dS^T q.
 */
export function groupedRowAttention(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D): tf.Tensor3D {
  const f = tf.customGrad((...args) => {
    const [qs, ks, vs, save] = args as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.GradSaveFunc];
    const t = (x: tf.Tensor3D, perm: number[]) => tf.transpose(x, perm) as tf.Tensor3D;
    const scores = groupedMatMul(t(qs, [1, 2, 0]), t(ks, [2, 0, 1])); // [H,G,H]
    const a = tf.softmax(tf.mul(scores, ROW_ATTENTION_SCALE)) as tf.Tensor3D; // [Hq,G,Hk]
    save([qs, ks, vs, a]);
    const value = groupedMatMul(t(a, [0, 2, 1]), t(vs, [1, 0, 2])); // [H,G,W]
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [qg, kg, vg, as] = saved as tf.Tensor3D[];
      const dout = dy as tf.Tensor3D; // [Hq,G,W]
      const da = groupedMatMul(t(dout, [0, 2, 1]), t(vg, [2, 0, 1])); // [Hq,G,Hk]
      const dv = t(groupedMatMul(t(as, [2, 0, 1]), dout), [1, 0, 2]);
      const ds = tf.mul(tf.mul(as, tf.sub(da, tf.sum(tf.mul(da, as), 2, true))), ROW_ATTENTION_SCALE) as tf.Tensor3D;
      const dq = t(groupedMatMul(t(ds, [0, 2, 1]), t(kg, [1, 0, 2])), [1, 0, 2]);
      const dk = t(groupedMatMul(t(ds, [2, 0, 1]), t(qg, [1, 0, 2])), [1, 0, 2]);
      return [dq, dk, dv];
    };
    return { value, gradFunc };
  });
  return f(q, k, v) as tf.Tensor3D;
}

/**
 * weight^T channels: weight [Cin,Cout], channels [Cin,N] (the same data as pixels [N,Cin])
 * -> [Cout,N]. Every matmul here, gradients included, has untransposed operands: upstream
 * wasm's BatchMatMul runs transposed operands about 10x slower, and tf.matMul's own
 * gradients would transpose both. dChannels = weight dy; dWeight = (dy pixels)^T.
 */
function channelFirstProjection(weight: tf.Tensor2D, channels: tf.Tensor2D, pixels: tf.Tensor2D): tf.Tensor2D {
  const f = tf.customGrad((...args) => {
    const [w, x, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
    save([w, pixels]);
    const value = tf.matMul(tf.transpose(w), x) as tf.Tensor2D;
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [ws, ps] = saved as tf.Tensor2D[];
      return [tf.transpose(tf.matMul(dy as tf.Tensor2D, ps)), tf.matMul(ws, dy as tf.Tensor2D)];
    };
    return { value, gradFunc };
  });
  return f(weight, channels) as tf.Tensor2D;
}

/** rgb [B,H,W,3] in 0..255 -> [-1,1] as the release's training data: img*2/255-1. */
export function normalizeImage(rgb: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.sub(tf.div(tf.mul(rgb, 2), 255), 1));
}

/**
 * Detector logits used at inference (method.md A.6): the edge probability,
 * upsampled to full resolution, is added to the heatmap logits before the sigmoid.
 * Without the EAG paths there is no edge map and the logits are the heatmap itself.
 */
export function detectionLogits(out: Pick<SamFeatOutputs, "heatmap" | "edges">): tf.Tensor4D {
  const [, H, W] = out.heatmap.shape;
  const edges = out.edges;
  if (!edges) return tf.clone(out.heatmap);
  return tf.tidy(() => tf.add(out.heatmap, resizeBilinear(edges, [H, W])) as tf.Tensor4D);
}
