import * as tf from "@tensorflow/tfjs";

/** Explicit NHWC padding as tfjs kernels take it: [[0,0],[top,bottom],[left,right],[0,0]]. */
export type ExplicitPadding = [[number, number], [number, number], [number, number], [number, number]];

export function explicitPadding(top: number, bottom: number, left: number, right: number): ExplicitPadding {
  return [[0, 0], [top, bottom], [left, right], [0, 0]];
}

/**
 * Runs kernels registered for one backend (default "wasm") on TensorInfos, tracking every intermediate
 * result so one `dispose()` frees them. Kernels are looked up at call time, so a faster Conv2D registered
 * later (e.g. native kernels) is used by everything built on top of it.
 */
export class KernelScope {
  private readonly temps: tf.TensorInfo[] = [];

  constructor(
    readonly backend: tf.KernelBackend,
    readonly backendName = "wasm",
  ) {}

  run(kernelName: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap = {}): tf.TensorInfo {
    const kernel = tf.getKernel(kernelName, this.backendName);
    if (kernel === undefined) {
      throw new Error(`lib/engine/wasm-kernels: kernel '${kernelName}' is not registered for ${this.backendName}`);
    }
    const out = kernel.kernelFunc({ inputs, attrs, backend: this.backend });
    if (Array.isArray(out)) throw new Error(`lib/engine/wasm-kernels: kernel '${kernelName}' returned several outputs`);
    this.temps.push(out);
    return out;
  }

  transpose(x: tf.TensorInfo, perm: number[]): tf.TensorInfo {
    return this.run("Transpose", { x }, { perm });
  }

  reshape(x: tf.TensorInfo, shape: number[]): tf.TensorInfo {
    return this.run("Reshape", { x }, { shape });
  }

  /** Slices rows/cols of an NHWC tensor: negative padding, which XNNPACK convolutions cannot take. */
  crop4d(x: tf.TensorInfo, top: number, bottom: number, left: number, right: number): tf.TensorInfo {
    if (top === 0 && bottom === 0 && left === 0 && right === 0) return x;
    const [b, h, w, c] = x.shape;
    return this.run("Slice", { x }, { begin: [0, top, left, 0], size: [b, h - top - bottom, w - left - right, c] });
  }

  /** Pads (positive amounts, with `value`) and crops (negative amounts) the rows/cols of an NHWC tensor. */
  padCrop4d(x: tf.TensorInfo, top: number, bottom: number, left: number, right: number, value = 0): tf.TensorInfo {
    const cropped = this.crop4d(x, Math.max(0, -top), Math.max(0, -bottom), Math.max(0, -left), Math.max(0, -right));
    const [pt, pb, pl, pr] = [top, bottom, left, right].map((v) => Math.max(0, v));
    if (pt === 0 && pb === 0 && pl === 0 && pr === 0) return cropped;
    return this.run("PadV2", { x: cropped }, { paddings: [[0, 0], [pt, pb], [pl, pr], [0, 0]], constantValue: value });
  }

  /** A small constant (indices, weights) owned by the scope. */
  constant(values: Float32Array | Int32Array, shape: number[]): tf.TensorInfo {
    const dtype = values instanceof Int32Array ? "int32" : "float32";
    const dataId = this.backend.write(values, shape, dtype);
    const info: tf.TensorInfo = { dataId, shape, dtype };
    this.temps.push(info);
    return info;
  }

  /** Frees an intermediate early (large temporaries in a loop). */
  free(t: tf.TensorInfo): void {
    const i = this.temps.lastIndexOf(t);
    if (i < 0) return;
    this.temps.splice(i, 1);
    this.backend.disposeData(t.dataId);
  }

  /** Hands `out` to the caller: removed from the intermediates, or copied if it is not one (an input). */
  keep(out: tf.TensorInfo): tf.TensorInfo {
    const result = this.temps.includes(out) ? out : this.run("Identity", { x: out });
    this.temps.splice(this.temps.lastIndexOf(result), 1);
    return result;
  }

  dispose(): void {
    // Reshape results share their input's data with a reference count, so every entry is released once.
    for (const t of this.temps) this.backend.disposeData(t.dataId);
    this.temps.length = 0;
  }
}

/** Runs `body` in a fresh scope and returns its result, freeing every other intermediate. */
export function withScope(
  backend: tf.KernelBackend,
  body: (s: KernelScope) => tf.TensorInfo,
  backendName = "wasm",
): tf.TensorInfo {
  const scope = new KernelScope(backend, backendName);
  try {
    return scope.keep(body(scope));
  } finally {
    scope.dispose();
  }
}
