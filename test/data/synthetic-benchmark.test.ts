import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { listImages } from "../../lib/data/image-folder";

const ROOT = path.resolve(__dirname, "../..");
const BUNDLED = path.join(ROOT, "data/synthetic-hpatches");

test("listImages walks each folder in English collation order, recursing where a folder sorts", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "image-folder-"));
  for (const f of ["b.png", "B_2.jpg", "a-1.jpg", "a_1.jpg", "sub/z.png", "sub/A.webp", "notes.txt", "c.PNG"]) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), "");
  }
  // CLDR root collation: letters compare case-blind first ("B_2" and "b.png" tie on "b"), then the
  // punctuation order _ < - < , < ; < : < ! < ? < . decides ("a_1" < "a-1", "B_2" < "b.png");
  // "sub" comes after "c.PNG" and is walked there; notes.txt is no image.
  assert.deepEqual(listImages(dir).map((p) => path.relative(dir, p)), ["a_1.jpg", "a-1.jpg", "B_2.jpg", "b.png", "c.PNG", "sub/A.webp", "sub/z.png"]);
  fs.rmSync(dir, { recursive: true, force: true });
});

test("the documented command regenerates data/synthetic-hpatches byte for byte", () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "synthetic-"));
  fs.rmSync(out, { recursive: true });
  const r = spawnSync(process.execPath, ["--import", "tsx", "scripts/make-benchmark.ts", "--photos", "data/photos", "--out", out, "--seed", "0", "--quiet"], { cwd: ROOT, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const files = (d: string): string[] => fs.readdirSync(d, { recursive: true }).map(String).filter((f) => fs.statSync(path.join(d, f)).isFile()).sort();
  assert.deepEqual(files(out), files(BUNDLED));
  for (const f of files(BUNDLED)) {
    if (f === "README.md") continue; // names the --out folder
    assert.ok(fs.readFileSync(path.join(out, f)).equals(fs.readFileSync(path.join(BUNDLED, f))), f);
  }
  fs.rmSync(out, { recursive: true, force: true });
});
