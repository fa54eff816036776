import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DatasetError } from "../../lib/data/errors";
import { readHPatches, readSequence, readSequenceImage } from "../../lib/data/hpatches";
import { readGrey, readRgb, writeRgb } from "../../lib/data/image";
import { decodePnm } from "../../lib/data/pnm";

const SAMPLE = path.resolve(__dirname, "../../data/hpatches-sample");
const ID = "1 0 0\n0 1 0\n0 0 1\n";

function ppm(width: number, height: number, fill: (i: number) => number): Buffer {
  const header = Buffer.from(`P6\n# a comment\n${width} ${height}\n255\n`, "latin1");
  return Buffer.concat([header, Buffer.from(Array.from({ length: width * height * 3 }, (_, i) => fill(i)))]);
}

/** A tiny valid dataset: i_a (ppm, 3 images) and v_b (png, 2 images). */
async function makeDataset(): Promise<string> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "hpatches-"));
  const a = path.join(root, "i_a"), b = path.join(root, "v_b");
  fs.mkdirSync(a);
  fs.mkdirSync(b);
  for (const k of [1, 2, 3]) fs.writeFileSync(path.join(a, `${k}.ppm`), ppm(4, 3, (i) => (i * k) % 256));
  fs.writeFileSync(path.join(a, "H_1_2"), ID);
  fs.writeFileSync(path.join(a, "H_1_3"), ID);
  const img = { width: 5, height: 4, data: new Uint8Array(60).map((_, i) => i * 4) };
  await writeRgb(path.join(b, "1.png"), img);
  await writeRgb(path.join(b, "2.png"), img);
  fs.writeFileSync(path.join(b, "H_1_2"), "2 0 1\n0 2 -1\n0 0 1\n");
  return root;
}

test("netpbm decoding: binary P6 with a header comment, and ascii P2 with maxval rescaling", () => {
  const p6 = decodePnm(ppm(2, 1, (i) => 10 * i));
  assert.deepEqual(p6, { width: 2, height: 1, channels: 3, data: Uint8Array.from([0, 10, 20, 30, 40, 50]) });
  const p2 = decodePnm(Buffer.from("P2\n2 2\n15\n0 15\n5 10\n", "latin1"));
  assert.deepEqual(Array.from(p2.data), [0, 255, 85, 170]);
  assert.throws(() => decodePnm(Buffer.from("P6\n4 4\n255\nabc", "latin1"), "x.ppm"), /x.ppm: .*raster truncated/);
});

test("reads a bundled HPatches image: size from the header, pixels from the raster", async () => {
  const file = path.join(SAMPLE, "v_churchill", "1.ppm");
  const img = await readRgb(file);
  const raw = fs.readFileSync(file);
  assert.equal(raw.subarray(0, 16).toString("latin1"), "P6\n768 1024\n255\n");
  assert.deepEqual([img.width, img.height], [768, 1024]);
  assert.deepEqual(Array.from(img.data.subarray(0, 30)), Array.from(raw.subarray(16, 46)));
  const grey = await readGrey(file);
  const [r, g, b] = raw.subarray(16, 19);
  assert.equal(grey.data[0], Math.round(0.299 * r + 0.587 * g + 0.114 * b));
});

test("reads the bundled sample: two v sequences with 5 homographies each", () => {
  const seqs = readHPatches(SAMPLE);
  assert.deepEqual(seqs.map((s) => [s.name, s.type, s.images.length, s.homographies.length, s.ext]), [
    ["v_churchill", "v", 6, 5, "ppm"],
    ["v_wormhole", "v", 6, 5, "ppm"],
  ]);
  const first = fs.readFileSync(path.join(SAMPLE, "v_churchill", "H_1_2"), "utf8").trim().split(/\s+/).map(Number);
  assert.deepEqual(seqs[0].homographies[0], first);
});

test("reads a constructed dataset in sorted order, with png and ppm images", async () => {
  const root = await makeDataset();
  const seqs = readHPatches(root);
  assert.deepEqual(seqs.map((s) => [s.name, s.type, s.images.length]), [["i_a", "i", 3], ["v_b", "v", 2]]);
  assert.deepEqual(seqs[1].homographies[0], [2, 0, 1, 0, 2, -1, 0, 0, 1]);
  const img = await readSequenceImage(seqs[1], 2);
  assert.deepEqual([img.width, img.height, img.data[3]], [5, 4, 12]);
});

async function expectDatasetError(mutate: (root: string) => void, pattern: RegExp, when: "list" | "image" = "list") {
  const root = await makeDataset();
  mutate(root);
  const run = async () => {
    const seqs = readHPatches(root);
    if (when === "image") await readSequenceImage(seqs[0], 2);
  };
  await assert.rejects(run, (e: Error) => {
    assert.ok(e instanceof DatasetError, `not a DatasetError: ${e}`);
    assert.match(e.message, pattern);
    return true;
  });
}

test("errors name the file: missing H", () => expectDatasetError((r) => fs.rmSync(path.join(r, "i_a", "H_1_3")), /i_a\/H_1_3: missing homography file/));

test("errors name the file: non-3x3 H", () =>
  expectDatasetError((r) => fs.writeFileSync(path.join(r, "v_b", "H_1_2"), "1 0\n0 1\n"), /v_b\/H_1_2: expected a 3x3 matrix/));

test("errors name the file: singular H", () =>
  expectDatasetError((r) => fs.writeFileSync(path.join(r, "v_b", "H_1_2"), "1 2 0\n2 4 0\n0 0 1\n"), /v_b\/H_1_2: homography is singular/));

test("errors name the file: unreadable image", () =>
  expectDatasetError((r) => fs.writeFileSync(path.join(r, "i_a", "2.ppm"), "P6\n4 3\n255\nshort"), /i_a\/2\.ppm: .*(truncated|cannot read)/, "image"));

test("errors name the file: image that is not an image at all", () =>
  expectDatasetError((r) => fs.writeFileSync(path.join(r, "i_a", "2.ppm"), "hello"), /i_a\/2\.ppm: cannot read image/, "image"));

test("errors name the folder: gap in image numbering, bad sequence name", async () => {
  await expectDatasetError((r) => fs.rmSync(path.join(r, "i_a", "2.ppm")), /i_a\/2\.<ext>: missing image/);
  await expectDatasetError((r) => fs.renameSync(path.join(r, "v_b"), path.join(r, "x_b")), /x_b: sequence name must start with "i"/);
});

test("errors name the root: empty or missing", async () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), "hpatches-empty-"));
  assert.throws(() => readHPatches(empty), new RegExp(`${empty}: no sequence folders`));
  assert.throws(() => readHPatches(path.join(empty, "nope")), /nope: dataset folder not found/);
  assert.throws(() => readSequence(path.join(SAMPLE)), /sequence name must start/);
});
