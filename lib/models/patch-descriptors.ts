// Patch descriptor networks for DesDis (method.md B.3), in NHWC, on 32x32 grey patches:
//
// L2-Net / HardNet size (the teacher-size network; DagnyT/hardnet code/HardNet.py L286-326):
//   input_norm (per patch: subtract the mean, divide by the unbiased std + 1e-7)
//   conv3x3 1->32 s1 p1, BN, ReLU;   conv3x3 32->32 s1 p1, BN, ReLU
//   conv3x3 32->64 s2 p1, BN, ReLU;  conv3x3 64->64 s1 p1, BN, ReLU
//   conv3x3 64->128 s2 p1, BN, ReLU; conv3x3 128->128 s1 p1, BN, ReLU
//   Dropout(0.3), conv8x8 128->128 (valid), BN        -> [N,1,1,128]
//   flatten, L2Norm (x / sqrt(sum x^2 + 1e-10))
//   Every conv is bias-free and every BN is BatchNorm2d(affine=False, eps 1e-5): the trainable
//   parameters are the 7 convolution weights only, 1,334,560 numbers (running statistics excluded).
//
// DesDis light-weight student of width d (liuyuzhenn/DesDis model.py L6-46):
//   InstanceNorm2d(1, affine=False) (per patch, biased variance, eps 1e-5, never running stats)
//   conv3x3 1->d s2 p1, BN, ReLU                          16x16
//   conv3x3 d->2d s2 p1, BN, ReLU                         8x8
//   conv3x3 2d->4d s2 p1, BN, ReLU; conv3x3 4d->4d s1 p1, BN, ReLU   4x4
//   Dropout(0.1), conv4x4 4d->128 (valid, with bias), BN(128)        1x1
//   flatten, F.normalize (x / max(|x|, 1e-12))
//   All 3x3 convs bias=False; only the 4x4 conv has a bias. Parameters: 502,176 / 331,736 / 191,248 /
//   80,712 for d = 32 / 24 / 16 / 8 (convolution weights and that one bias; running statistics excluded).
//
// Parameters are kept under PyTorch's state_dict names (conv weights in HWIO [k,k,cin,cout]); the
// BatchNorm running statistics are separate non-trainable variables ("buffers"), also under PyTorch's
// names (`<bn>.running_mean`, `<bn>.running_var`).
//
// BatchNorm: in training, batch statistics (biased variance for the normalisation); each training
// forward pass queues its batch statistics, and updateRunningStats() then folds them into the running
// statistics exactly as PyTorch does at each forward call: running = (1 - 0.1) running + 0.1 batch, with
// the unbiased batch variance for running_var. In evaluation the running statistics are used.
//
// Padding: PyTorch's padding=1 pads one pixel on every side, also for stride 2 (TF's "same" would pad
// 0 before and 1 after on even sizes), so the 3x3 convs use explicit [1,1] padding.
import * as tf from "@tensorflow/tfjs";
import { normals, seededUniform } from "./init";

export type PatchArchitecture = "l2net" | "desdis";

/** BatchNorm2d / InstanceNorm2d default epsilon. */
export const BN_EPS = 1e-5;
/** BatchNorm2d default momentum (weight of the new batch statistics). */
export const BN_MOMENTUM = 0.1;
/** Side of the input patches. */
export const PATCH_SIZE = 32;
/** Output descriptor size of both networks. */
export const DESCRIPTOR_DIM = 128;

export type PatchLayer =
  | { kind: "inputNorm" } // HardNet's input_norm: (x - mean) / (std_unbiased + 1e-7) per patch
  | { kind: "instanceNorm" } // InstanceNorm2d(1, affine=False): (x - mean) / sqrt(var_biased + 1e-5) per patch
  | { kind: "conv"; name: string; k: number; cin: number; cout: number; stride: number; pad: number; bias: boolean }
  | { kind: "bn"; name: string; channels: number }
  | { kind: "relu" }
  | { kind: "dropout"; rate: number };

/** Layers of the L2-Net / HardNet-size network, names as HardNet's `features` Sequential. */
export function l2netLayers(dropRate = 0.3): PatchLayer[] {
  const layers: PatchLayer[] = [{ kind: "inputNorm" }];
  const spec: [number, number, number][] = [
    [1, 32, 1],
    [32, 32, 1],
    [32, 64, 2],
    [64, 64, 1],
    [64, 128, 2],
    [128, 128, 1],
  ];
  let index = 0; // position in features: conv, bn, relu per block
  for (const [cin, cout, stride] of spec) {
    layers.push({ kind: "conv", name: `features.${index}`, k: 3, cin, cout, stride, pad: 1, bias: false });
    layers.push({ kind: "bn", name: `features.${index + 1}`, channels: cout });
    layers.push({ kind: "relu" });
    index += 3;
  }
  layers.push({ kind: "dropout", rate: dropRate }); // features.18
  layers.push({ kind: "conv", name: "features.19", k: 8, cin: 128, cout: DESCRIPTOR_DIM, stride: 1, pad: 0, bias: false });
  layers.push({ kind: "bn", name: "features.20", channels: DESCRIPTOR_DIM });
  return layers;
}

/** Layers of the DesDis student of width d, names as the released model.py's state_dict. */
export function desdisLayers(width: number, dropRate = 0.1): PatchLayer[] {
  const d = width;
  const conv = (name: string, cin: number, cout: number, stride: number): PatchLayer => ({ kind: "conv", name, k: 3, cin, cout, stride, pad: 1, bias: false });
  const bn = (name: string, channels: number): PatchLayer => ({ kind: "bn", name, channels });
  const relu: PatchLayer = { kind: "relu" };
  return [
    { kind: "instanceNorm" }, // layer1.0
    conv("layer1.1", 1, d, 2), bn("layer1.2", d), relu,
    conv("layer2.0", d, 2 * d, 2), bn("layer2.1", 2 * d), relu,
    conv("layer3.0", 2 * d, 4 * d, 2), bn("layer3.1", 4 * d), relu,
    conv("layer3.3", 4 * d, 4 * d, 1), bn("layer3.4", 4 * d), relu,
    { kind: "dropout", rate: dropRate }, // desc.0
    { kind: "conv", name: "desc.1", k: 4, cin: 4 * d, cout: DESCRIPTOR_DIM, stride: 1, pad: 0, bias: true },
    bn("desc.2", DESCRIPTOR_DIM),
  ];
}

/** Batch statistics of one BatchNorm layer in one training forward pass (kept tensors, no gradient use). */
interface BatchStats {
  name: string;
  mean: tf.Tensor1D;
  variance: tf.Tensor1D; // biased
  count: number; // values per channel: N*H*W
}

export interface PatchNetOptions {
  /** Seed of the weight initialisation and of the dropout masks. */
  seed?: number;
  /** Dropout rate before the last convolution (training only); defaults to the architecture's. */
  dropRate?: number;
}

export interface DesDisOptions extends PatchNetOptions {
  /** Channels of the first convolution, d (released: 8, 16, 24, 32). */
  width?: number;
}

export interface PatchForward {
  /** [N,128] L2-normalised descriptors. */
  descriptors: tf.Tensor2D;
  /** [N,128] the last BatchNorm's output before the L2 normalisation (HyNet's norm regulariser reads it). */
  raw: tf.Tensor2D;
}

/** A patch descriptor network: a list of layers, parameters and BatchNorm running statistics. */
export abstract class PatchDescriptorNet {
  abstract readonly architecture: PatchArchitecture;
  /** Channels of the first convolution (32 for the L2-Net-size network). */
  readonly width: number;
  readonly seed: number;
  readonly dropRate: number;
  readonly layers: PatchLayer[];
  /** Trainable parameters under PyTorch's names; conv weights HWIO [k,k,cin,cout]. */
  readonly params: Map<string, tf.Variable>;
  /** BatchNorm running statistics (`<bn>.running_mean`, `<bn>.running_var`), not trainable. */
  readonly buffers: Map<string, tf.Variable>;
  private pending: BatchStats[][] = [];
  private dropoutCalls = 0;

  protected constructor(layers: PatchLayer[], width: number, seed: number, dropRate: number, init: (conv: Extract<PatchLayer, { kind: "conv" }>, uniform: () => number) => { weight: Float32Array; bias?: Float32Array }) {
    this.layers = layers;
    this.width = width;
    this.seed = seed;
    this.dropRate = dropRate;
    this.params = new Map();
    this.buffers = new Map();
    const uniform = seededUniform(seed);
    tf.tidy(() => {
      for (const layer of layers) {
        if (layer.kind === "conv") {
          const { weight, bias } = init(layer, uniform);
          this.params.set(`${layer.name}.weight`, tf.variable(tf.tensor4d(weight, [layer.k, layer.k, layer.cin, layer.cout])));
          if (layer.bias) this.params.set(`${layer.name}.bias`, tf.variable(tf.tensor1d(bias!)));
        } else if (layer.kind === "bn") {
          this.buffers.set(`${layer.name}.running_mean`, tf.variable(tf.zeros([layer.channels]), false));
          this.buffers.set(`${layer.name}.running_var`, tf.variable(tf.ones([layer.channels]), false));
        }
      }
    });
  }

  /** Number of trainable parameters (running statistics excluded). */
  numParams(): number {
    let n = 0;
    for (const p of this.params.values()) n += p.size;
    return n;
  }

  /** Number of BatchNorm running-statistic values. */
  numBuffers(): number {
    let n = 0;
    for (const b of this.buffers.values()) n += b.size;
    return n;
  }

  /** patches [N,32,32,1] -> L2-normalised descriptors [N,128]. */
  apply(patches: tf.Tensor4D, training: boolean): tf.Tensor2D {
    const { descriptors, raw } = this.forward(patches, training);
    raw.dispose();
    return descriptors;
  }

  /** Both the L2-normalised descriptors and the raw ones (before the normalisation). */
  forward(patches: tf.Tensor4D, training: boolean): PatchForward {
    const [n, h, w, c] = patches.shape;
    if (patches.rank !== 4 || h !== PATCH_SIZE || w !== PATCH_SIZE || c !== 1 || n < 1) {
      throw new Error(`${this.architecture}: expected patches [N,32,32,1] with N >= 1, got [${patches.shape}]`);
    }
    if (training && n < 2) throw new Error(`${this.architecture}: training needs at least 2 patches for batch statistics, got ${n}`);
    const stats: BatchStats[] = [];
    const out = tf.tidy(() => {
      let x: tf.Tensor4D = patches;
      for (const layer of this.layers) x = this.layer(x, layer, training, stats);
      const raw = tf.reshape(x, [n, DESCRIPTOR_DIM]) as tf.Tensor2D;
      const descriptors = this.normalize(raw);
      return { raw, descriptors };
    });
    if (training) this.pending.push(stats);
    return out;
  }

  /** The network's final L2 normalisation (differs in its epsilon between the two releases). */
  protected abstract normalize(raw: tf.Tensor2D): tf.Tensor2D;

  private layer(x: tf.Tensor4D, layer: PatchLayer, training: boolean, stats: BatchStats[]): tf.Tensor4D {
    switch (layer.kind) {
      case "inputNorm": {
        // torch.std is the unbiased estimate; HardNet detaches mean and std, which only matters for
        // gradients with respect to the input patches (never needed here).
        const count = x.shape[1] * x.shape[2] * x.shape[3];
        const { mean, variance } = tf.moments(x, [1, 2, 3], true);
        const std = tf.add(tf.sqrt(tf.mul(variance, count / (count - 1))), 1e-7);
        return tf.div(tf.sub(x, mean), std) as tf.Tensor4D;
      }
      case "instanceNorm": {
        const { mean, variance } = tf.moments(x, [1, 2], true);
        return tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, BN_EPS))) as tf.Tensor4D;
      }
      case "conv": {
        const weight = this.params.get(`${layer.name}.weight`) as tf.Tensor4D;
        const pad = layer.pad === 0 ? "valid" : ([[0, 0], [layer.pad, layer.pad], [layer.pad, layer.pad], [0, 0]] as [[number, number], [number, number], [number, number], [number, number]]);
        const y = tf.conv2d(x, weight, layer.stride, pad);
        return layer.bias ? (tf.add(y, this.params.get(`${layer.name}.bias`)!) as tf.Tensor4D) : y;
      }
      case "bn": {
        if (training) {
          const { mean, variance } = tf.moments(x, [0, 1, 2]);
          stats.push({ name: layer.name, mean: tf.keep(mean) as tf.Tensor1D, variance: tf.keep(variance) as tf.Tensor1D, count: x.shape[0] * x.shape[1] * x.shape[2] });
          return tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, BN_EPS))) as tf.Tensor4D;
        }
        const mean = this.buffers.get(`${layer.name}.running_mean`)!;
        const variance = this.buffers.get(`${layer.name}.running_var`)!;
        return tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, BN_EPS))) as tf.Tensor4D;
      }
      case "relu":
        return tf.relu(x);
      case "dropout":
        if (!training || layer.rate === 0) return x;
        // A fresh, reproducible mask per call: seed derived from the network seed and a call counter.
        return tf.dropout(x, layer.rate, undefined, this.seed * 1000003 + ++this.dropoutCalls) as tf.Tensor4D;
    }
  }

  /** Training forward passes whose batch statistics have not yet been folded in. */
  pendingBatchStats(): number {
    return this.pending.length;
  }

  /**
   * Fold the batch statistics of every training forward pass since the last call into the running
   * statistics, in call order, as PyTorch does during each forward:
   * mean <- (1-m) mean + m batch_mean, var <- (1-m) var + m batch_var * n/(n-1), m = 0.1.
   * Call it after the training step. Returns the number of forward passes folded in.
   */
  updateRunningStats(momentum = BN_MOMENTUM): number {
    const passes = this.pending;
    this.pending = [];
    for (const stats of passes) {
      for (const s of stats) {
        tf.tidy(() => {
          const rm = this.buffers.get(`${s.name}.running_mean`)!;
          const rv = this.buffers.get(`${s.name}.running_var`)!;
          const unbiased = tf.mul(s.variance, s.count / Math.max(1, s.count - 1));
          rm.assign(tf.add(tf.mul(rm, 1 - momentum), tf.mul(s.mean, momentum)));
          rv.assign(tf.add(tf.mul(rv, 1 - momentum), tf.mul(unbiased, momentum)));
        });
        s.mean.dispose();
        s.variance.dispose();
      }
    }
    return passes.length;
  }

  /** Drop queued batch statistics without using them (e.g. after a forward pass that was not a step). */
  discardBatchStats(): void {
    for (const stats of this.pending) for (const s of stats) tf.dispose([s.mean, s.variance]);
    this.pending = [];
  }

  /** Trainable variables, e.g. for an optimiser's varList. */
  trainableVariables(): tf.Variable[] {
    return [...this.params.values()];
  }

  dispose(): void {
    this.discardBatchStats();
    for (const p of this.params.values()) p.dispose();
    for (const b of this.buffers.values()) b.dispose();
    this.params.clear();
    this.buffers.clear();
  }
}

/**
 * PyTorch's orthogonal_(gain) on the flattened weight [cout, cin*k*k] (HardNet's weights_init), seeded:
 * a Gaussian matrix made orthonormal along its shorter side (Gram-Schmidt, equivalent to QR with the
 * sign of R's diagonal made positive), returned in HWIO.
 */
export function orthogonalConvWeight(k: number, cin: number, cout: number, gain: number, uniform: () => number): Float32Array {
  const rows = cout;
  const cols = cin * k * k;
  // Work on the tall orientation: m x n with m >= n, orthonormal columns.
  const m = Math.max(rows, cols);
  const n = Math.min(rows, cols);
  const g = normals(m * n, uniform);
  const q = new Float64Array(m * n); // column-major: column j at [j*m, (j+1)*m)
  for (let j = 0; j < n; j++) for (let i = 0; i < m; i++) q[j * m + i] = g[i * n + j];
  for (let j = 0; j < n; j++) {
    const cj = j * m;
    for (let pass = 0; pass < 2; pass++) {
      // twice: re-orthogonalisation keeps float rounding from piling up
      for (let p = 0; p < j; p++) {
        const cp = p * m;
        let dot = 0;
        for (let i = 0; i < m; i++) dot += q[cp + i] * q[cj + i];
        for (let i = 0; i < m; i++) q[cj + i] -= dot * q[cp + i];
      }
    }
    let norm = 0;
    for (let i = 0; i < m; i++) norm += q[cj + i] ** 2;
    norm = Math.sqrt(norm);
    for (let i = 0; i < m; i++) q[cj + i] /= norm;
  }
  // flat[o][f] for o < rows, f < cols: tall orientation is (rows >= cols ? flat : flat^T).
  const flat = (o: number, f: number) => (rows >= cols ? q[f * m + o] : q[o * m + f]);
  const hwio = new Float32Array(k * k * cin * cout);
  for (let o = 0; o < cout; o++) {
    for (let i = 0; i < cin; i++) {
      for (let kh = 0; kh < k; kh++) {
        for (let kw = 0; kw < k; kw++) hwio[((kh * k + kw) * cin + i) * cout + o] = gain * flat(o, (i * k + kh) * k + kw);
      }
    }
  }
  return hwio;
}

/** PyTorch's default Conv2d init (kaiming_uniform_ with a = sqrt(5)): U(-1/sqrt(fan_in), 1/sqrt(fan_in)), weight and bias. */
export function pytorchDefaultConv(k: number, cin: number, cout: number, bias: boolean, uniform: () => number): { weight: Float32Array; bias?: Float32Array } {
  const bound = 1 / Math.sqrt(cin * k * k);
  const weight = new Float32Array(k * k * cin * cout);
  for (let i = 0; i < weight.length; i++) weight[i] = (2 * uniform() - 1) * bound;
  if (!bias) return { weight };
  const b = new Float32Array(cout);
  for (let i = 0; i < cout; i++) b[i] = (2 * uniform() - 1) * bound;
  return { weight, bias: b };
}

/** The L2-Net / HardNet-size network (teacher size). Initialised as HardNet: orthogonal, gain 0.6. */
export class L2NetDescriptor extends PatchDescriptorNet {
  readonly architecture = "l2net" as const;

  constructor(opts: PatchNetOptions = {}) {
    const seed = opts.seed ?? 0;
    const dropRate = opts.dropRate ?? 0.3;
    checkRate(dropRate, "L2NetDescriptor");
    super(l2netLayers(dropRate), 32, seed, dropRate, (c, uniform) => ({ weight: orthogonalConvWeight(c.k, c.cin, c.cout, 0.6, uniform) }));
  }

  /** HardNet's L2Norm: x / sqrt(sum x^2 + 1e-10). */
  protected normalize(raw: tf.Tensor2D): tf.Tensor2D {
    return tf.div(raw, tf.sqrt(tf.add(tf.sum(tf.square(raw), 1, true), 1e-10))) as tf.Tensor2D;
  }
}

/** The DesDis light-weight student of width d. Initialised as PyTorch's defaults (model.py sets none). */
export class DesDisStudent extends PatchDescriptorNet {
  readonly architecture = "desdis" as const;

  constructor(opts: DesDisOptions = {}) {
    const width = opts.width ?? 32;
    if (!Number.isInteger(width) || width < 1) throw new Error(`DesDisStudent: width must be a positive integer, got ${width}`);
    const seed = opts.seed ?? 0;
    const dropRate = opts.dropRate ?? 0.1;
    checkRate(dropRate, "DesDisStudent");
    super(desdisLayers(width, dropRate), width, seed, dropRate, (c, uniform) => pytorchDefaultConv(c.k, c.cin, c.cout, c.bias, uniform));
  }

  /** F.normalize(p=2, dim=1): x / max(|x|, 1e-12). */
  protected normalize(raw: tf.Tensor2D): tf.Tensor2D {
    return tf.div(raw, tf.maximum(tf.norm(raw, 2, 1, true), 1e-12)) as tf.Tensor2D;
  }
}

function checkRate(rate: number, who: string): void {
  if (!(rate >= 0 && rate < 1)) throw new Error(`${who}: dropRate must be in [0, 1), got ${rate}`);
}

/** Build a network from its architecture name (checkpoints use this). */
export function createPatchNet(architecture: PatchArchitecture, opts: DesDisOptions = {}): PatchDescriptorNet {
  if (architecture === "l2net") {
    if (opts.width !== undefined && opts.width !== 32) throw new Error(`l2net: width is fixed at 32, got ${opts.width}`);
    return new L2NetDescriptor(opts);
  }
  if (architecture === "desdis") return new DesDisStudent(opts);
  throw new Error(`unknown patch descriptor architecture '${architecture as string}' (expected l2net or desdis)`);
}

/** NCHW [N,1,32,32] values (PyTorch's layout) -> NHWC [N,32,32,1]; with one channel only the shape changes. */
export function patchesFromNCHW(values: Float32Array, shape: number[]): tf.Tensor4D {
  if (shape.length !== 4 || shape[1] !== 1) throw new Error(`patchesFromNCHW: expected [N,1,H,W], got [${shape}]`);
  return tf.tensor4d(values, [shape[0], shape[2], shape[3], 1]);
}

/** A PyTorch OIHW convolution weight -> HWIO. */
export function oihwToHwio(oihw: Float32Array, [o, i, kh, kw]: number[]): Float32Array {
  const out = new Float32Array(oihw.length);
  for (let a = 0; a < o; a++) {
    for (let b = 0; b < i; b++) {
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) out[((y * kw + x) * i + b) * o + a] = oihw[((a * i + b) * kh + y) * kw + x];
      }
    }
  }
  return out;
}
