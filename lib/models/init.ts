// Seeded parameter initialisation, so a network built twice with the same seed
// has bit-identical weights on every backend (tf.random* depends on the backend).

/** A uniform [0,1) generator (mulberry32): small state, good enough for initialisation. */
export function seededUniform(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples (Box-Muller) from a uniform generator. */
export function normals(n: number, uniform: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - uniform()));
    const a = 2 * Math.PI * uniform();
    out[i] = r * Math.cos(a);
    if (i + 1 < n) out[i + 1] = r * Math.sin(a);
  }
  return out;
}

/**
 * Convolution weights [k,k,cin,cout] (HWIO) as PyTorch's
 * kaiming_normal_(mode="fan_out", nonlinearity="relu"): N(0, 2/(cout*k*k)).
 */
export function kaimingNormalFanOut(k: number, cin: number, cout: number, uniform: () => number): Float32Array {
  const std = Math.sqrt(2 / (cout * k * k));
  const w = normals(k * k * cin * cout, uniform);
  for (let i = 0; i < w.length; i++) w[i] *= std;
  return w;
}

/** PyTorch's default Conv2d bias: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = cin*k*k. */
export function convBiasUniform(k: number, cin: number, cout: number, uniform: () => number): Float32Array {
  const bound = 1 / Math.sqrt(cin * k * k);
  const b = new Float32Array(cout);
  for (let i = 0; i < cout; i++) b[i] = (2 * uniform() - 1) * bound;
  return b;
}
