// The safetensors container (used for checkpoints, teacher caches and the
// bundled DesDis weights): an 8-byte little-endian u64 header length N, N bytes
// of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}},
// then raw little-endian tensor data, offsets relative to the end of the header.
import * as fs from "node:fs";
import { writeFileAtomicSync } from "./atomic";

export type DType = "F32" | "F16" | "I32" | "U8" | "U16" | "I64";

export interface NamedArray {
  dtype: DType;
  shape: number[];
  /** Raw little-endian bytes of the tensor. */
  data: Uint8Array;
}

export interface SafetensorsFile {
  tensors: Map<string, NamedArray>;
  metadata: Record<string, string>;
}

const BYTES_PER_ELEMENT: Record<DType, number> = { F32: 4, F16: 2, I32: 4, U8: 1, U16: 2, I64: 8 };

/** Thrown for any malformed container; the message names the file and the problem. */
export class SafetensorsError extends Error {}

/** Parse a safetensors buffer. `source` names the file in error messages. */
export function decodeSafetensors(buf: Uint8Array, source = "<buffer>"): SafetensorsFile {
  const fail = (why: string): never => {
    throw new SafetensorsError(`${source}: not a valid safetensors file: ${why}`);
  };
  if (buf.byteLength < 8) fail(`only ${buf.byteLength} bytes, shorter than the 8-byte header length`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen > buf.byteLength - 8) fail(`header length ${headerLen} exceeds the file size ${buf.byteLength}`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(buf.subarray(8, 8 + headerLen)));
  } catch (e) {
    return fail(`header is not JSON (${(e as Error).message})`);
  }
  const dataStart = 8 + headerLen;
  const dataLen = buf.byteLength - dataStart;
  const tensors = new Map<string, NamedArray>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") {
      metadata = entry as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets } = entry as { dtype: DType; shape: number[]; data_offsets: [number, number] };
    if (!(dtype in BYTES_PER_ELEMENT)) fail(`tensor '${name}' has unsupported dtype ${dtype}`);
    const [begin, end] = data_offsets;
    const expected = shape.reduce((a, b) => a * b, 1) * BYTES_PER_ELEMENT[dtype];
    if (end - begin !== expected) fail(`tensor '${name}' spans ${end - begin} bytes, its shape [${shape}] needs ${expected}`);
    if (begin < 0 || end > dataLen) fail(`tensor '${name}' lies outside the data section (truncated file?)`);
    // Copy: a Node Buffer's slice() is a view, and callers may keep entries after the file buffer is gone.
    tensors.set(name, { dtype, shape, data: new Uint8Array(buf.subarray(dataStart + begin, dataStart + end)) });
  }
  return { tensors, metadata };
}

/** Serialise tensors (in the given order) and metadata into one safetensors buffer. */
export function encodeSafetensors(tensors: Map<string, NamedArray>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  // Pad the header with spaces to an 8-byte boundary, as the reference writer does.
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.byteLength;
  for (const t of tensors.values()) {
    out.set(t.data, pos);
    pos += t.data.byteLength;
  }
  return out;
}

export function readSafetensors(file: string): SafetensorsFile {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new SafetensorsError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return decodeSafetensors(buf, file);
}

/** Write atomically (temp file, then rename). */
export function writeSafetensors(file: string, tensors: Map<string, NamedArray>, metadata: Record<string, string> = {}): void {
  writeFileAtomicSync(file, encodeSafetensors(tensors, metadata));
}

/** An F32 entry as a Float32Array (a copy, so alignment is guaranteed). */
export function asFloat32(t: NamedArray, name = "tensor"): Float32Array {
  if (t.dtype !== "F32") throw new SafetensorsError(`${name}: expected dtype F32, found ${t.dtype}`);
  return new Float32Array(new Uint8Array(t.data).buffer);
}

/** Wrap a Float32Array as an F32 entry. */
export function fromFloat32(values: Float32Array, shape: number[]): NamedArray {
  return { dtype: "F32", shape, data: new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength)) };
}
