import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  asFloat32,
  decodeSafetensors,
  encodeSafetensors,
  fromFloat32,
  readSafetensors,
  SafetensorsError,
  writeSafetensors,
} from "../../lib/util/safetensors";

const REFERENCE = path.resolve(__dirname, "../../data/desdis-weights/reference.safetensors");

test("reads the bundled DesDis reference: shapes, and descriptors that are unit vectors", () => {
  const f = readSafetensors(REFERENCE);
  assert.deepEqual(f.tensors.get("patches")!.shape, [64, 1, 32, 32]);
  for (const width of [8, 16, 24, 32]) {
    const t = f.tensors.get(`descriptors_${width}`)!;
    assert.deepEqual(t.shape, [64, 128]);
    // The released model ends in an L2 normalisation, so every row has norm 1.
    const d = asFloat32(t);
    for (let i = 0; i < 64; i++) {
      let s = 0;
      for (let j = 0; j < 128; j++) s += d[i * 128 + j] ** 2;
      assert.ok(Math.abs(Math.sqrt(s) - 1) < 1e-5, `row ${i} of width ${width} has norm ${Math.sqrt(s)}`);
    }
  }
  // Patches are grey values in [0, 1].
  const p = asFloat32(f.tensors.get("patches")!);
  assert.ok(p.every((v) => v >= 0 && v <= 1));
});

test("encode then decode returns the same bytes, header aligned to 8 bytes", () => {
  const a = fromFloat32(new Float32Array([1, -2.5, 3e-8, 4]), [2, 2]);
  const b = { dtype: "U8" as const, shape: [3], data: new Uint8Array([7, 8, 9]) };
  const buf = encodeSafetensors(new Map([["a", a], ["b", b]]), { note: "x" });
  const headerLen = Number(new DataView(buf.buffer).getBigUint64(0, true));
  assert.equal((8 + headerLen) % 8, 0);
  const back = decodeSafetensors(buf);
  assert.deepEqual(Array.from(asFloat32(back.tensors.get("a")!)), [1, -2.5, Math.fround(3e-8), 4]);
  assert.deepEqual(Array.from(back.tensors.get("b")!.data), [7, 8, 9]);
  assert.equal(back.metadata.note, "x");
});

test("a truncated file is rejected with its name in the message", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "st-"));
  const file = path.join(dir, "w.safetensors");
  writeSafetensors(file, new Map([["w", fromFloat32(new Float32Array(16), [4, 4])]]));
  const full = fs.readFileSync(file);
  fs.writeFileSync(file, full.subarray(0, full.length - 5));
  assert.throws(() => readSafetensors(file), (e: Error) => e instanceof SafetensorsError && e.message.includes(file) && /outside the data section/.test(e.message));
  fs.writeFileSync(file, full.subarray(0, 4));
  assert.throws(() => readSafetensors(file), /shorter than the 8-byte header/);
  assert.throws(() => readSafetensors(path.join(dir, "missing.safetensors")), /missing\.safetensors: cannot read \(ENOENT\)/);
  fs.rmSync(dir, { recursive: true });
});
