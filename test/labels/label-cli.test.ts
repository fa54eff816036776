import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { writeRgb } from "../../lib/data/image";

const ROOT = path.resolve(__dirname, "../..");
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "samfeat-label-"));
after(() => fs.rmSync(TMP, { recursive: true, force: true }));

function label(...args: string[]) {
  const r = spawnSync(process.execPath, ["--import", "tsx", path.join(ROOT, "scripts/label.ts"), ...args], { cwd: ROOT, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A dark image with one bright rectangle, offset by i. */
function rectImage(i: number) {
  const width = 64 + 8 * i, height = 48;
  const data = new Uint8Array(width * height * 3).fill(25);
  for (let y = 10 + i; y < 34; y++) for (let x = 12; x < 40 + i; x++) data.fill(210, 3 * (y * width + x), 3 * (y * width + x) + 3);
  return { width, height, data };
}

test("label CLI: --help on stdout exit 0; a bad flag, a missing folder or a folder without images: one error line, exit 2", () => {
  const help = label("--help");
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^usage: npm run label -- --images DIR/);
  assert.match(help.stdout, /--homographies N/);
  assert.equal(help.stderr, "");

  const errorLine = (r: { stderr: string }) => r.stderr.trim().split("\n").filter((l) => !l.startsWith("npm warn"));
  const bad = label("--images", TMP, "--frobnicate");
  assert.equal(bad.code, 2);
  assert.equal(errorLine(bad).length, 1);
  assert.match(errorLine(bad)[0], /^error: .*--frobnicate/);

  const badN = label("--images", TMP, "--homographies", "many");
  assert.equal(badN.code, 2);
  assert.match(badN.stderr, /^error: --homographies many: expected an integer >= 0/);

  const missing = label("--images", path.join(TMP, "nowhere"));
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^error: --images .*nowhere: not a folder/);

  const empty = fs.mkdtempSync(path.join(TMP, "empty-"));
  fs.writeFileSync(path.join(empty, "notes.txt"), "no images here");
  const none = label("--images", empty);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^error: --images .*empty-\w+: no images/);

  assert.equal(label().code, 2);
  const file = path.join(TMP, "a-file");
  fs.writeFileSync(file, "");
  const badCache = label("--images", path.join(ROOT, "data/bsds500/images/train"), "--cache", file);
  assert.equal(badCache.code, 2);
  assert.match(badCache.stderr, /^error: --cache .*a-file: exists and is not a folder/);
});

test("label CLI: two images give two entries, a second run two hits; an unreadable image is reported and the run goes on", async () => {
  const images = path.join(TMP, "images");
  const cache = path.join(TMP, "cache");
  await writeRgb(path.join(images, "a.png"), rectImage(0));
  await writeRgb(path.join(images, "sub", "b.png"), rectImage(1));

  const first = label("--images", images, "--cache", cache, "--homographies", "4", "--quiet");
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /label homographic-harris: 2 images, 0 hits, 2 misses, 0 invalid entries recomputed, 0 failed; 4 points per image/);
  const dir = path.join(cache, "homographic-harris");
  assert.equal(fs.readdirSync(dir).filter((n) => /^[0-9a-f]{64}\.safetensors$/.test(n)).length, 2);

  const second = label("--images", images, "--cache", cache, "--homographies", "4", "--quiet");
  assert.equal(second.code, 0);
  assert.match(second.stdout, /2 images, 2 hits, 0 misses/);

  // Another homography count is another labeler identity: new entries beside the old ones.
  const other = label("--images", images, "--cache", cache, "--homographies", "2", "--quiet", "--limit", "1");
  assert.match(other.stdout, /1 images, 0 hits, 1 misses/);
  assert.equal(fs.readdirSync(dir).length, 3);

  fs.writeFileSync(path.join(images, "broken.jpg"), "not a jpeg");
  const third = label("--images", images, "--cache", cache, "--homographies", "4");
  assert.equal(third.code, 1);
  assert.match(third.stdout, /3 images, 2 hits, 0 misses, 0 invalid entries recomputed, 1 failed/);
  assert.match(third.stderr, /^failed: .*broken\.jpg: cannot read image/m);
  assert.match(third.stdout, /label homographic-harris \[/); // the progress bar
});
