// The eager-freeing backward pass: same gradients as tfjs-core's own pass, and memory released
// node by node instead of at the end.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initEngine } from "../../lib/engine";
import { installEagerBackward, uninstallEagerBackward } from "../../lib/engine/backward";
import { surrogateLoss } from "../../lib/models/bare-step";
import { SamFeatNet } from "../../lib/models/samfeat";

before(async () => {
  await initEngine({ backend: "cpu", quiet: true }); // installs the eager pass
});

function withUpstream<T>(f: () => T): T {
  uninstallEagerBackward();
  try {
    return f();
  } finally {
    installEagerBackward();
  }
}

test("gradients with fan-out accumulate: d/dx sum(x*x + 3x + sin(x)) = 2x + 3 + cos(x)", () => {
  const xs = [-1.5, 0, 0.25, 2];
  const x = tf.tensor1d(xs);
  const g = tf.grad((t: tf.Tensor) => tf.sum(tf.addN([tf.mul(t, t), tf.mul(t, 3), tf.sin(t)])))(x);
  const got = g.dataSync();
  xs.forEach((v, i) => assert.ok(Math.abs(got[i] - (2 * v + 3 + Math.cos(v))) < 1e-5, `x=${v}: ${got[i]}`));
  tf.dispose([x, g]);
});

test("the SAMFeat network's gradients equal tfjs-core's own backward pass, bit for bit", () => {
  const net = new SamFeatNet({ width: 0.25, seed: 3 });
  const images = tf.randomUniform([2, 16, 24, 3], -1, 1, "float32", 5) as tf.Tensor4D;
  const vars = [...net.params.values()];
  const run = () => tf.variableGrads(() => surrogateLoss(net.apply(images)), vars);
  const before = tf.memory().numTensors;
  const eager = run();
  assert.equal(tf.memory().numTensors - before, 1 + vars.length, "only the value and one gradient per variable outlive the pass");
  const ref = withUpstream(run);
  for (const v of vars) {
    const want = ref.grads[v.name].dataSync();
    assert.ok(want.some((e) => e !== 0), `${v.name}: gradient is all zeros, the comparison would be empty`);
    assert.deepEqual(eager.grads[v.name].dataSync(), want, v.name);
  }
  tf.dispose([eager.value, ref.value, ...Object.values(eager.grads), ...Object.values(ref.grads), images]);
  net.dispose();
});

test("saved activations are freed as the pass goes: memory at the first node does not grow with depth", () => {
  // A chain of `depth` sin ops over 2^18 floats (1 MiB each) after a probe op whose gradient
  // records the bytes alive when it runs, i.e. after the whole chain was differentiated. Each
  // sin saves its 1 MiB input and receives a 1 MiB output gradient, so tfjs-core's pass, which
  // frees nothing before the end, holds 2 MiB more per link; the eager pass holds the same
  // whatever the depth.
  const MiB = 1 << 20;
  const x = tf.tidy(() => tf.variable(tf.fill([MiB / 4], 0.5)));
  const bytesAtProbe = (depth: number) => {
    let seen = NaN;
    const probe = tf.customGrad((...args) => {
      const [t, save] = args as [tf.Tensor, tf.GradSaveFunc];
      save([t]);
      return { value: tf.sin(t), gradFunc: (dy: tf.Tensor, [s]: tf.Tensor[]) => ((seen = tf.memory().numBytes), tf.mul(dy, tf.cos(s))) };
    });
    const base = tf.memory().numBytes;
    const { value, grads } = tf.variableGrads(() => {
      let t = probe(x) as tf.Tensor;
      for (let i = 0; i < depth; i++) t = tf.sin(t);
      return tf.sum(t) as tf.Scalar;
    }, [x]);
    tf.dispose([value, ...Object.values(grads)]);
    return seen - base;
  };
  const eagerGrowth = bytesAtProbe(20) - bytesAtProbe(10);
  const upstreamGrowth = withUpstream(() => bytesAtProbe(20) - bytesAtProbe(10));
  assert.ok(Math.abs(eagerGrowth) < 0.5 * MiB, `eager pass grew by ${(eagerGrowth / MiB).toFixed(2)} MiB over 10 links`);
  assert.ok(upstreamGrowth >= 20 * MiB, `tfjs-core's pass grew by ${(upstreamGrowth / MiB).toFixed(2)} MiB: the probe measures nothing`);
  x.dispose();
});

test("a caller's dy survives, and second-order gradients still work", () => {
  const x = tf.scalar(2);
  const dy = tf.scalar(0.5);
  const [g] = tf.grads((t: tf.Tensor) => tf.mul(tf.mul(t, t), t))([x], dy);
  assert.equal(dy.isDisposed, false);
  assert.ok(Math.abs(g.dataSync()[0] - 0.5 * 3 * 4) < 1e-6); // 0.5 * 3x^2
  // d2/dx2 x^3 = 6x = 12 at x = 2: the inner pass must keep its saved tensors for the outer one.
  const second = tf.grad(tf.grad((t: tf.Tensor) => tf.mul(tf.mul(t, t), t)))(x);
  assert.ok(Math.abs(second.dataSync()[0] - 12) < 1e-5, `got ${second.dataSync()[0]}`);
  tf.dispose([x, dy, g, second]);
});
