// NumPy .npy / .npz encoding: an .npz is a zip of .npy files (stored, no
// compression, like np.savez). Enough of the format for feature files:
// little-endian float32/float64/int32/int64/uint8 arrays in C order.
import * as fflate from "fflate";

export type NpyDtype = "<f4" | "<f8" | "<i4" | "<i8" | "|u1";

export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  data: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;
}

const CTOR = { "<f4": Float32Array, "<f8": Float64Array, "<i4": Int32Array, "<i8": BigInt64Array, "|u1": Uint8Array };

/** Encode one array as .npy version 1.0 bytes. */
export function encodeNpy(arr: NpyArray): Uint8Array {
  const count = arr.shape.reduce((a, b) => a * b, 1);
  if (count !== arr.data.length) throw new Error(`npy: shape [${arr.shape}] holds ${count} values, data has ${arr.data.length}`);
  const shape = arr.shape.length === 1 ? `(${arr.shape[0]},)` : `(${arr.shape.join(", ")})`;
  let header = `{'descr': '${arr.dtype}', 'fortran_order': False, 'shape': ${shape}, }`;
  // magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple of 64, ending in \n
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, " ") + "\n";
  const out = new Uint8Array(total + arr.data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  out[8] = header.length & 0xff;
  out[9] = header.length >> 8;
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(new Uint8Array(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength), total);
  return out;
}

/** Decode .npy bytes (versions 1-3, C order, the dtypes above). `source` names the file in errors. */
export function decodeNpy(bytes: Uint8Array, source = "<npy>"): NpyArray {
  const fail = (why: string): never => {
    throw new Error(`${source}: not a readable .npy array: ${why}`);
  };
  if (bytes.length < 10 || bytes[0] !== 0x93 || String.fromCharCode(...bytes.subarray(1, 6)) !== "NUMPY") fail("bad magic");
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder("latin1").decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) fail(`header "${header.trim()}"`);
  if (fortran === "True") fail("fortran order is not supported");
  const dtype = (descr === "<u1" ? "|u1" : descr) as NpyDtype;
  if (!(dtype in CTOR)) fail(`dtype ${descr} is not supported`);
  const shape = shapeText!
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const ctor = CTOR[dtype];
  const offset = start + headerLen;
  const need = count * ctor.BYTES_PER_ELEMENT;
  if (bytes.length - offset < need) fail(`data truncated (${bytes.length - offset} of ${need} bytes)`);
  // copy so the result is aligned whatever the header length
  const raw = bytes.slice(offset, offset + need);
  return { dtype, shape, data: new ctor(raw.buffer, 0, count) };
}

/** Zip arrays as <name>.npy entries, uncompressed (np.savez layout). */
export function encodeNpz(arrays: Record<string, NpyArray>): Uint8Array {
  const files: fflate.Zippable = {};
  for (const [name, arr] of Object.entries(arrays)) files[`${name}.npy`] = [encodeNpy(arr), { level: 0 }];
  return fflate.zipSync(files);
}

export function decodeNpz(bytes: Uint8Array, source = "<npz>"): Record<string, NpyArray> {
  let files: fflate.Unzipped;
  try {
    files = fflate.unzipSync(bytes);
  } catch (e) {
    throw new Error(`${source}: not a zip archive (${(e as Error).message})`);
  }
  const out: Record<string, NpyArray> = {};
  for (const [name, data] of Object.entries(files)) {
    if (name.endsWith(".npy")) out[name.slice(0, -4)] = decodeNpy(data, `${source}:${name}`);
  }
  return out;
}
