import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { RgbImage } from "../../lib/data/image";
import { cacheKey, CACHE_FORMAT, imageContentHash, TeacherCache, teachCached } from "../../lib/teachers/cache";
import { decodeSafetensors } from "../../lib/util/safetensors";
import { countingTeacher, FAKE_KEY, fakeOutput, largeOutput } from "./fake-teacher";

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "samfeat-cache-"));
after(() => fs.rmSync(TMP, { recursive: true, force: true }));
const freshRoot = () => fs.mkdtempSync(path.join(TMP, "root-"));

function image(seed: number, width = 40, height = 32): RgbImage {
  return { width, height, data: Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 31 + seed) % 256) };
}

test("round trip: every tensor comes back bit for bit, with the documented metadata", () => {
  const cache = new TeacherCache(freshRoot());
  const out = fakeOutput(37, 45, 5);
  cache.write(FAKE_KEY, out);
  const got = cache.read(FAKE_KEY);
  assert.equal(got.status, "hit");
  if (got.status !== "hit") return;
  assert.deepEqual(got.output, out);
  const file = decodeSafetensors(fs.readFileSync(cache.fileFor(FAKE_KEY)));
  assert.equal(file.metadata.format, CACHE_FORMAT);
  assert.equal(file.metadata.key, FAKE_KEY.key);
  assert.match(file.metadata.payload_sha256, /^[0-9a-f]{64}$/);
  assert.deepEqual(file.tensors.get("embedding")!.shape, [5, 6, 5]);
  assert.deepEqual(file.tensors.get("groups")!.shape, [37, 45]);
  assert.equal(path.dirname(cache.fileFor(FAKE_KEY)), path.join(cache.root, "fake"));
});

test("a flipped byte in the payload or the header, and a truncated file, are reported, never used", () => {
  const cache = new TeacherCache(freshRoot());
  cache.write(FAKE_KEY, fakeOutput(40, 40, 3));
  const file = cache.fileFor(FAKE_KEY);
  const good = fs.readFileSync(file);
  const headerLen = Number(good.readBigUInt64LE(0));

  const payload = Buffer.from(good);
  payload[8 + headerLen + 1000] ^= 0x01;
  fs.writeFileSync(file, payload);
  const r1 = cache.read(FAKE_KEY);
  assert.equal(r1.status, "invalid");
  assert.match(r1.status === "invalid" ? r1.reason : "", /checksum mismatch/);

  // A digit of the creation time: the header still parses, the checksum catches it.
  const header = Buffer.from(good);
  const at = header.indexOf('"created":"') + 12;
  header[at] = header[at] === 0x31 ? 0x32 : 0x31;
  fs.writeFileSync(file, header);
  assert.equal(cache.read(FAKE_KEY).status, "invalid");

  fs.writeFileSync(file, good.subarray(0, good.length - 100));
  const r3 = cache.read(FAKE_KEY);
  assert.equal(r3.status, "invalid");
  assert.match(r3.status === "invalid" ? r3.reason : "", /truncated|outside the data section/);

  fs.writeFileSync(file, good.subarray(0, 5));
  assert.equal(cache.read(FAKE_KEY).status, "invalid");

  fs.writeFileSync(file, good);
  assert.equal(cache.read(FAKE_KEY).status, "hit");
});

test("an entry written for another image or teacher is rejected even when intact", () => {
  const cache = new TeacherCache(freshRoot());
  const other = { ...FAKE_KEY, imageHash: "b".repeat(64) };
  cache.write(other, fakeOutput(32, 32, 2));
  const r = cache.read(FAKE_KEY); // same path, different expected image
  assert.equal(r.status, "invalid");
  assert.match(r.status === "invalid" ? r.reason : "", /another image or teacher/);
});

test("teachCached: miss then hit without teacher work; a corrupted entry is recomputed and replaced", async () => {
  const cache = new TeacherCache(freshRoot());
  const teacher = countingTeacher();
  const input = { image: image(1) };
  const first = await teachCached(teacher, cache, input);
  assert.equal(first.status, "miss");
  const second = await teachCached(teacher, cache, input);
  assert.equal(second.status, "hit");
  assert.equal(teacher.calls, 1);
  assert.deepEqual(second.output, first.output);

  const file = cache.fileFor(cacheKey(teacher, input));
  const bytes = fs.readFileSync(file);
  bytes[bytes.length - 1] ^= 0xff;
  fs.writeFileSync(file, bytes);
  const third = await teachCached(teacher, cache, input);
  assert.equal(third.status, "replaced");
  assert.match(third.reason!, /checksum mismatch/);
  assert.equal(teacher.calls, 2);
  assert.equal((await teachCached(teacher, cache, input)).status, "hit");
  assert.equal(teacher.calls, 2);
});

test("cache keys follow the pixels and the teacher's identity, not the file", () => {
  const a = image(1);
  const copy: RgbImage = { ...a, data: Uint8Array.from(a.data) };
  assert.equal(imageContentHash(a), imageContentHash(copy));
  assert.notEqual(imageContentHash(a), imageContentHash(image(2)));
  // Same bytes, other shape.
  assert.notEqual(imageContentHash(a), imageContentHash({ ...a, width: 32, height: 40 }));
  const t1 = countingTeacher({ k: 1 });
  const t2 = countingTeacher({ k: 2 });
  assert.equal(cacheKey(t1, { image: a, file: "x.png" }).key, cacheKey(t1, { image: copy, file: "y.png" }).key);
  assert.notEqual(cacheKey(t1, { image: a }).key, cacheKey(t2, { image: a }).key);
});

test("a writer killed mid-write leaves no entry or a valid one, and its temp file is swept", async () => {
  const root = freshRoot();
  const dir = path.join(root, FAKE_KEY.identity.name);
  // Embedding [500,500,64] plus groups and edges of 4000x4000: about 190 MB, written with fsync.
  const side = 500;
  const child = spawn(process.execPath, ["--import", "tsx", path.join(__dirname, "write-entry.child.ts"), root, String(side)], {
    cwd: path.resolve(__dirname, "../.."),
    stdio: ["ignore", "pipe", "inherit"],
  });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  let sawTemp = false;
  let killedMidWrite = false;
  // Once the child announces the write, kill it the moment its temp file appears.
  for (let polls = 0; polls < 20000; polls++) {
    if (child.exitCode !== null) break;
    if (output.includes("writing") && fs.existsSync(dir)) {
      const temps = fs.readdirSync(dir).filter((n) => /\.safetensors\.\d+$/.test(n));
      if (temps.length > 0) {
        sawTemp = true;
        killedMidWrite = !fs.existsSync(path.join(dir, `${FAKE_KEY.key}.safetensors`));
        child.kill("SIGKILL");
        break;
      }
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await exited;
  assert.ok(sawTemp, "the child was not caught writing");
  assert.ok(killedMidWrite);
  assert.ok(!output.includes("done"));
  const cache = new TeacherCache(root);
  const r = cache.read(FAKE_KEY);
  assert.ok(r.status === "miss" || r.status === "hit", `status ${r.status}`);
  if (r.status === "hit") assert.deepEqual(r.output, largeOutput(side));
  // The leftover temp file is old enough to sweep only with minAgeMs 0; then the entry can be written normally.
  assert.deepEqual(cache.sweepPartialWrites(FAKE_KEY.identity, 60_000), []);
  assert.equal(cache.sweepPartialWrites(FAKE_KEY.identity, 0).length, 1);
  assert.deepEqual(fs.readdirSync(dir).filter((n) => /\.safetensors\.\d+$/.test(n)), []);
  cache.write(FAKE_KEY, fakeOutput(32, 32, 2));
  assert.equal(cache.read(FAKE_KEY).status, "hit");
});
