// Loads the PyTorch parity fixture (bench/make_samfeat_fixture.py) as NHWC tensors, and checks the
// network against it on the current backend.
import assert from "node:assert/strict";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { surrogateLoss } from "../../lib/models/bare-step";
import { SamFeatNet, SamFeatOutputs } from "../../lib/models/samfeat";
import { asFloat32, readSafetensors } from "../../lib/util/safetensors";

export const FIXTURE = path.resolve(__dirname, "../fixtures/samfeat/width0.25.safetensors");

export interface TorchFixture {
  width: number;
  params: number;
  /** NCHW/OIHW tensors by name, as PyTorch stored them. */
  raw: Map<string, tf.Tensor>;
}

export function loadFixture(): TorchFixture {
  const f = readSafetensors(FIXTURE);
  const raw = new Map<string, tf.Tensor>();
  for (const [name, t] of f.tensors) raw.set(name, tf.tensor(asFloat32(t, name), t.shape));
  return { width: Number(f.metadata.width), params: Number(f.metadata.params), raw };
}

/** PyTorch layouts to tfjs ones: conv OIHW -> HWIO, activations NCHW -> NHWC; others unchanged. */
export function toTfLayout(t: tf.Tensor, isConvWeight: boolean): tf.Tensor {
  if (t.rank !== 4) return t.clone();
  return tf.transpose(t, isConvWeight ? [2, 3, 1, 0] : [0, 2, 3, 1]);
}

const OUTPUTS: (keyof SamFeatOutputs)[] = ["heatmap", "descriptors", "attention", "distill", "edges"];

/** max |a - b| / max(max |b|, floor): error relative to the reference's scale. */
function relErr(a: tf.Tensor, b: tf.Tensor, floor = 1e-6): number {
  return tf.tidy(() => {
    const err = tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];
    const scale = tf.max(tf.abs(b)).dataSync()[0];
    return err / Math.max(scale, floor);
  });
}

/**
 * The fixture's PyTorch network, outputs and gradients against ours, on the current backend.
 * `gradsOf` picks the parameters whose gradients are compared. Returns the largest errors found.
 */
export function checkParity(gradsOf: (name: string) => boolean): { outputs: number; grads: number; loss: number } {
  const worst = { outputs: 0, grads: 0, loss: 0 };
  const fx = loadFixture();
  const net = new SamFeatNet({ width: fx.width });
  try {
    assert.equal(net.numParams(), fx.params);
    for (const [name, p] of net.params) {
      const ref = fx.raw.get(name);
      assert.ok(ref, `fixture lacks ${name}`);
      tf.tidy(() => p.assign(toTfLayout(ref, name.endsWith(".weight"))));
    }
    const x = toTfLayout(fx.raw.get("input")!, false) as tf.Tensor4D;
    const out = net.apply(x);
    for (const k of OUTPUTS) {
      const ref = toTfLayout(fx.raw.get(k)!, false);
      const got = out[k]!;
      assert.deepEqual(got.shape, ref.shape, k);
      const e = relErr(got, ref);
      worst.outputs = Math.max(worst.outputs, e);
      assert.ok(e < 1e-4, `${tf.getBackend()}: ${k} differs from PyTorch by ${e} of its scale`);
    }
    tf.dispose(Object.values(out));

    // Gradients of the benchmark's loss: covers every backward kernel, the resize adjoint included.
    const names = [...net.params.keys()].filter(gradsOf);
    const { value, grads } = tf.variableGrads(() => surrogateLoss(net.apply(x)), names.map((n) => net.params.get(n)!));
    worst.loss = Math.abs(value.dataSync()[0] - fx.raw.get("loss")!.dataSync()[0]);
    assert.ok(worst.loss < 1e-5, `${tf.getBackend()}: loss differs from PyTorch's by ${worst.loss}`);
    for (const n of names) {
      const ref = toTfLayout(fx.raw.get(`grad.${n}`)!, n.endsWith(".weight"));
      // rows.k.bias has an exactly zero gradient (softmax ignores a per-query constant):
      // both sides hold ~1e-10 rounding noise, hence the absolute floor.
      const e = relErr(grads[net.params.get(n)!.name], ref, 1e-6);
      worst.grads = Math.max(worst.grads, e);
      assert.ok(e < 1e-4, `${tf.getBackend()}: gradient of ${n} differs from PyTorch by ${e} of its scale`);
    }
    tf.dispose([value, x, ...Object.values(grads)]);
    return worst;
  } finally {
    net.dispose();
    for (const t of fx.raw.values()) t.dispose();
  }
}
