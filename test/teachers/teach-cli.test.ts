import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { writeRgb } from "../../lib/data/image";

const ROOT = path.resolve(__dirname, "../..");
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "samfeat-teach-"));
after(() => fs.rmSync(TMP, { recursive: true, force: true }));

function teach(...args: string[]) {
  const r = spawnSync(process.execPath, ["--import", "tsx", path.join(ROOT, "scripts/teach.ts"), ...args], { cwd: ROOT, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("teach CLI: computes, then only hits; bad images are named and skipped; missing SAM files exit 2", async () => {
  const images = path.join(TMP, "images");
  const cache = path.join(TMP, "cache");
  for (let i = 0; i < 3; i++) {
    const width = 48 + 8 * i, height = 40;
    const data = Uint8Array.from({ length: width * height * 3 }, (_, p) => ((p % (3 * width)) < 3 * 20 ? 30 : 200) + i);
    await writeRgb(path.join(images, `img${i}.png`), { width, height, data });
  }
  await writeRgb(path.join(images, "sub", "tiny.png"), { width: 16, height: 16, data: new Uint8Array(16 * 16 * 3) });
  fs.writeFileSync(path.join(images, "broken.jpg"), "not a jpeg");

  const first = teach("--teacher", "classical", "--images", images, "--cache", cache);
  assert.equal(first.code, 1, first.stderr);
  assert.match(first.stdout, /5 images, 0 hits, 3 misses, 0 invalid entries recomputed, 2 failed/);
  // Each failed image is named on stderr.
  assert.match(first.stderr, /^failed: .*broken\.jpg: cannot read image/m);
  assert.match(first.stderr, /^failed: .*tiny\.png: image is 16x16/m);
  assert.equal(fs.readdirSync(path.join(cache, "classical")).length, 3);

  const second = teach("--teacher", "classical", "--images", images, "--cache", cache, "--quiet");
  assert.match(second.stdout, /5 images, 3 hits, 0 misses/);

  // --limit takes the first images in sorted order (broken.jpg, img0.png).
  const limited = teach("--teacher", "classical", "--images", images, "--cache", cache, "--limit", "2", "--quiet");
  assert.match(limited.stdout, /2 images, 1 hits, 0 misses, 0 invalid entries recomputed, 1 failed/);

  const emptyModels = path.join(TMP, "no-models");
  fs.mkdirSync(emptyModels);
  const sam = teach("--teacher", "sam", "--images", images, "--cache", cache, "--sam-dir", emptyModels);
  assert.equal(sam.code, 2);
  const lines = sam.stderr.trim().split("\n").filter((l) => !l.startsWith("npm warn"));
  assert.equal(lines.length, 1);
  assert.match(lines[0], /^error: SAM teacher: missing .*sam_image_encoder\.onnx and .*sam_prompt_decoder\.onnx/);

  const bad = teach("--teacher", "magic", "--images", images);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^error: --teacher magic: expected one of sam, human, classical\n$/);
  const noDir = teach("--teacher", "sam", "--images", images, "--sam-dir", path.join(TMP, "absent"));
  assert.equal(noDir.code, 2);
  assert.match(noDir.stderr, /^error: --sam-dir .*absent: not a folder\n$/);
});
