import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { RgbImage } from "../../lib/data/image";
import { LABEL_CACHE_FORMAT, LabelCache, labelCacheKey, labelsCached, readCachedLabels } from "../../lib/labels/cache";
import type { KeypointLabels, Labeler } from "../../lib/labels/homographic-adaptation";
import { createHomographicLabeler } from "../../lib/labels/homographic-adaptation";
import { CACHE_FORMAT } from "../../lib/teachers/cache";
import { decodeSafetensors } from "../../lib/util/safetensors";

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "samfeat-labels-"));
after(() => fs.rmSync(TMP, { recursive: true, force: true }));
const freshRoot = () => fs.mkdtempSync(path.join(TMP, "root-"));

function image(seed: number, width = 48, height = 40): RgbImage {
  return { width, height, data: Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 31 + seed) % 256) };
}

/** A labeler with a closed-form output and a call counter. */
function countingLabeler(params: Record<string, unknown> = {}, points = 5): Labeler & { calls: number } {
  const l = {
    calls: 0,
    identity: { name: "homographic-fake", version: 1, params },
    async label(img: RgbImage): Promise<KeypointLabels> {
      l.calls++;
      return {
        width: img.width,
        height: img.height,
        points: Float32Array.from({ length: 2 * points }, (_, i) => (i * 7 + l.calls) % img.width),
        scores: Float32Array.from({ length: points }, (_, i) => 1 - i / (points + l.calls)),
      };
    },
  };
  return l;
}

test("round trip: points and scores come back bit for bit, under <root>/<labeler name>/<key>.safetensors", async () => {
  const cache = new LabelCache(freshRoot());
  const labeler = countingLabeler();
  const input = { image: image(1) };
  const first = await labelsCached(labeler, cache, input);
  assert.equal(first.status, "miss");
  const k = labelCacheKey(labeler.identity, input.image);
  const file = cache.fileFor(k);
  assert.equal(file, path.join(cache.root, "homographic-fake", `${k.key}.safetensors`));
  const f = decodeSafetensors(fs.readFileSync(file));
  assert.equal(f.metadata.format, LABEL_CACHE_FORMAT);
  assert.notEqual(LABEL_CACHE_FORMAT, CACHE_FORMAT);
  assert.equal(f.metadata.width, "48");
  assert.equal(f.metadata.height, "40");
  assert.match(f.metadata.payload_sha256, /^[0-9a-f]{64}$/);
  assert.deepEqual(f.tensors.get("points")!.shape, [5, 2]);
  assert.deepEqual(f.tensors.get("scores")!.shape, [5]);

  const second = await labelsCached(labeler, cache, input);
  assert.equal(second.status, "hit");
  assert.equal(labeler.calls, 1);
  assert.deepEqual(second.labels, first.labels);
  const looked = readCachedLabels(labeler, cache, input);
  assert.equal(looked.status, "hit");
  if (looked.status === "hit") assert.deepEqual(looked.labels, first.labels);
});

test("an image without labels (N = 0) round-trips", async () => {
  const cache = new LabelCache(freshRoot());
  const labeler = countingLabeler({}, 0);
  const first = await labelsCached(labeler, cache, { image: image(2) });
  const r = readCachedLabels(labeler, cache, { image: image(2) });
  assert.equal(r.status, "hit");
  if (r.status === "hit") {
    assert.equal(r.labels.scores.length, 0);
    assert.deepEqual(r.labels, first.labels);
  }
});

test("a flipped byte is detected (invalid), never used, and recomputed; readCachedLabels never computes", async () => {
  const cache = new LabelCache(freshRoot());
  const labeler = countingLabeler();
  const input = { image: image(3), file: "x.png" };
  assert.equal(readCachedLabels(labeler, cache, input).status, "miss");
  assert.equal(labeler.calls, 0);
  await labelsCached(labeler, cache, input);
  const file = cache.fileFor(labelCacheKey(labeler.identity, input.image));
  const good = fs.readFileSync(file);
  const bad = Buffer.from(good);
  bad[bad.length - 3] ^= 0x01; // a score byte
  fs.writeFileSync(file, bad);
  const r = readCachedLabels(labeler, cache, input);
  assert.equal(r.status, "invalid");
  assert.match(r.status === "invalid" ? r.reason : "", /checksum mismatch/);
  assert.equal(labeler.calls, 1);

  const again = await labelsCached(labeler, cache, input);
  assert.equal(again.status, "replaced");
  assert.match(again.reason!, /checksum mismatch/);
  assert.equal(labeler.calls, 2);
  assert.equal((await labelsCached(labeler, cache, input)).status, "hit");

  fs.writeFileSync(file, good.subarray(0, good.length - 8));
  assert.equal(readCachedLabels(labeler, cache, input).status, "invalid");
});

test("keys follow the pixels and the labeler identity; an entry for another image is rejected", async () => {
  const a = image(1);
  const copy = { ...a, data: Uint8Array.from(a.data) };
  const l1 = countingLabeler({ homographies: 32 });
  const l2 = countingLabeler({ homographies: 8 });
  assert.equal(labelCacheKey(l1.identity, a).key, labelCacheKey(l1.identity, copy).key);
  assert.notEqual(labelCacheKey(l1.identity, a).key, labelCacheKey(l2.identity, a).key);
  assert.notEqual(labelCacheKey(l1.identity, a).key, labelCacheKey(l1.identity, image(9)).key);

  const cache = new LabelCache(freshRoot());
  const k = labelCacheKey(l1.identity, a);
  cache.write({ ...k, imageHash: "b".repeat(64) }, await l1.label(a));
  const r = cache.read(k);
  assert.equal(r.status, "invalid");
  assert.match(r.status === "invalid" ? r.reason : "", /another image or labeler/);
});

test("the real labeler through the cache: miss, then a hit equal to a fresh computation", async () => {
  const cache = new LabelCache(freshRoot());
  const labeler = await createHomographicLabeler({ homographies: 4 });
  const data = new Uint8Array(64 * 48 * 3).fill(20);
  for (let y = 12; y < 36; y++) for (let x = 16; x < 44; x++) data.fill(220, 3 * (y * 64 + x), 3 * (y * 64 + x) + 3);
  const input = { image: { width: 64, height: 48, data } };
  const first = await labelsCached(labeler, cache, input);
  assert.equal(first.status, "miss");
  assert.equal(first.labels.scores.length, 4);
  const second = await labelsCached(labeler, cache, input);
  assert.equal(second.status, "hit");
  assert.deepEqual(second.labels, await labeler.label(input.image));
  assert.ok(fs.existsSync(path.join(cache.root, "homographic-harris")));
});
