// Adam exactly as torch.optim.Adam (amsgrad=False): weight decay is an L2 term
// added to the gradient, and eps is added to the bias-corrected sqrt(v).
// tf.train.adam differs in both (no weight decay; eps placement), which
// matters when comparing training runs against the PyTorch reference.
import * as tf from "@tensorflow/tfjs";

export interface AdamOptions {
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

const DEFAULTS: Required<AdamOptions> = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };

export class Adam {
  readonly options: Required<AdamOptions>;
  private readonly params: Map<string, tf.Variable>;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  private t = 0;

  constructor(params: Map<string, tf.Variable>, opts: AdamOptions = {}) {
    this.options = { ...DEFAULTS, ...opts };
    this.params = params;
  }

  /** Number of steps taken so far. */
  get steps(): number {
    return this.t;
  }

  /** One update from gradients keyed like the parameters; parameters without a gradient are left alone. */
  step(grads: Map<string, tf.Tensor> | Record<string, tf.Tensor>): void {
    const g = grads instanceof Map ? grads : new Map(Object.entries(grads));
    const { lr, beta1, beta2, eps, weightDecay } = this.options;
    this.t += 1;
    const bc1 = 1 - beta1 ** this.t;
    const bc2 = 1 - beta2 ** this.t;
    tf.tidy(() => {
      for (const [name, p] of this.params) {
        let grad = g.get(name);
        if (grad === undefined) continue;
        if (weightDecay !== 0) grad = tf.add(grad, tf.mul(p, weightDecay));
        let m = this.m.get(name);
        let v = this.v.get(name);
        if (m === undefined || v === undefined) {
          m = tf.variable(tf.zerosLike(p), false);
          v = tf.variable(tf.zerosLike(p), false);
          this.m.set(name, m);
          this.v.set(name, v);
        }
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(grad, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(grad), 1 - beta2)));
        const denom = tf.add(tf.div(tf.sqrt(v), Math.sqrt(bc2)), eps);
        p.assign(tf.sub(p, tf.mul(tf.div(m, denom), lr / bc1)));
      }
    });
  }

  /** The moments and step count, for a checkpoint: tensors keyed "m.<param>" and "v.<param>". */
  exportState(): { steps: number; moments: Map<string, tf.Tensor> } {
    const moments = new Map<string, tf.Tensor>();
    for (const [name, m] of this.m) moments.set(`m.${name}`, m);
    for (const [name, v] of this.v) moments.set(`v.${name}`, v);
    return { steps: this.t, moments };
  }

  /** Restore what exportState returned (values are copied); throws naming a moment whose shape does not fit. */
  importState(steps: number, moments: Map<string, { shape: number[]; values: Float32Array }>): void {
    this.dispose();
    for (const [key, { shape, values }] of moments) {
      const [kind, ...rest] = key.split(".");
      const name = rest.join(".");
      const p = this.params.get(name);
      if ((kind !== "m" && kind !== "v") || p === undefined) throw new Error(`optimizer state: '${key}' belongs to no parameter`);
      if (shape.length !== p.shape.length || shape.some((d, i) => d !== p.shape[i])) {
        throw new Error(`optimizer state: '${key}' has shape [${shape}], the parameter has [${p.shape}]`);
      }
      (kind === "m" ? this.m : this.v).set(name, tf.variable(tf.tensor(values, shape), false));
    }
    this.t = steps;
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}
