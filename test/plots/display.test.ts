// Display pieces that need no kernel: the figure bundle (plotly JSON + HTML +
// PNG from headless chromium, never the plotly library), the PNG-less fallback,
// atomic file output, the inlined plotly library and where it goes, PNG
// encoding of images and table formatting.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";
import sharp from "sharp";
import * as dfd from "danfojs-node";
import { encodePng, figureBundle, findChromium, showFigure, tableCells } from "../../lib/plots/display";
import { FIGURE_CLASS, figureHtml, plotlyLibraryScript, withPlotlyLibrary } from "../../lib/plots/html";
import { displayBundle, inNotebook } from "../../lib/notebook/kernel";

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

// One pure-red bar filling the whole plot area (no bar gap, y range = bar height),
// with 40 px margins: at 320x240 the red block is 240x160 px, half the image.
const FIG = {
  data: [{ type: "bar", x: ["only"], y: [1], marker: { color: "rgb(255,0,0)" } }],
  layout: {
    title: { text: "Red bar" },
    yaxis: { range: [0, 1] },
    bargap: 0,
    margin: { l: 40, r: 40, t: 40, b: 40 },
    showlegend: false,
  },
};

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "samfeat-plots-"));
}

async function redFraction(png: Uint8Array): Promise<{ width: number; height: number; red: number }> {
  const { data, info } = await sharp(Buffer.from(png)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  let red = 0;
  for (let i = 0; i < data.length; i += 3) if (data[i] > 220 && data[i + 1] < 40 && data[i + 2] < 40) red++;
  return { width: info.width, height: info.height, red: red / (info.width * info.height) };
}

test("chromium is available (the PNG tests below depend on it)", () => {
  const found = findChromium();
  assert.ok("path" in found, "reason" in found ? found.reason : "");
});

test("figure bundle carries plotly JSON, HTML and a PNG of the requested size", async () => {
  const { bundle, metadata, png, note } = await figureBundle(FIG, { width: 320, height: 240 });
  assert.equal(note, undefined);
  for (const type of ["application/vnd.plotly.v1+json", "text/html", "image/png", "text/plain"]) {
    assert.ok(type in bundle, `missing ${type}`);
  }
  assert.deepEqual(bundle["application/vnd.plotly.v1+json"], { data: FIG.data, layout: FIG.layout });
  assert.ok(png);
  assert.deepEqual([...png.subarray(0, 8)], PNG_SIGNATURE);
  assert.equal(bundle["image/png"], png);
  assert.deepEqual(metadata["image/png"], { width: 320, height: 240 });
  const img = await redFraction(png);
  assert.deepEqual([img.width, img.height], [320, 240]);
  // (240*160)/(320*240) = 0.5, less a pixel row or column of axis line and anti-aliasing.
  assert.ok(img.red > 0.48 && img.red <= 0.5, `red fraction ${img.red}`);
  // Untrusted front ends drop the script but keep this <img>: it must be the same PNG.
  const html = bundle["text/html"] as string;
  assert.ok(html.includes(`src="data:image/png;base64,${Buffer.from(png).toString("base64")}"`));
  assert.ok(html.includes("Plotly.newPlot"));
  // The library is not in the bundle: the output stays the size of its PNG and JSON.
  assert.ok(!html.includes("atob(") && !html.includes("DecompressionStream"));
  assert.ok(html.length < 4 * png.length + 10_000, `figure HTML is ${html.length} characters`);
});

test("without a browser the figure still has JSON + HTML and says why the PNG is missing", async () => {
  const { bundle, png, note } = await figureBundle(FIG, { browser: "/nonexistent/chromium" });
  assert.equal(png, undefined);
  assert.ok(!("image/png" in bundle));
  assert.ok("application/vnd.plotly.v1+json" in bundle && "text/html" in bundle);
  assert.match(note ?? "", /^PNG unavailable: .*\/nonexistent\/chromium.*ENOENT/);
  assert.equal(note?.includes("\n"), false);
  assert.ok((bundle["text/html"] as string).includes("PNG unavailable"));
  assert.ok((bundle["text/plain"] as string).includes("PNG unavailable"));
});

test("showFigure outside a notebook replaces outputs atomically (new inode, no temp files left)", async () => {
  const dir = tmpDir();
  try {
    const html = path.join(dir, "bars.html");
    fs.writeFileSync(html, "old");
    const before = fs.statSync(html).ino;
    const reader = fs.openSync(html, "r"); // a reader of the old file keeps seeing the old file
    await showFigure(FIG, { name: "bars", outDir: dir, width: 200, height: 150 });
    assert.equal(fs.readFileSync(reader, "utf8"), "old");
    fs.closeSync(reader);
    assert.notEqual(fs.statSync(html).ino, before, "file was rewritten in place, not renamed over");
    assert.deepEqual(fs.readdirSync(dir).sort(), ["bars.html", "bars.png"]);
    const text = fs.readFileSync(html, "utf8");
    assert.ok(text.startsWith("<!doctype html>") && text.trimEnd().endsWith("</html>"));
    assert.ok(text.includes("DecompressionStream"), "standalone file must carry the plotly library");
    const png = fs.readFileSync(path.join(dir, "bars.png"));
    assert.deepEqual([...png.subarray(0, 8)], PNG_SIGNATURE);
    assert.deepEqual([(await sharp(png).metadata()).width, (await sharp(png).metadata()).height], [200, 150]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("showFigure rejects a name that is not a plain file stem", async () => {
  await assert.rejects(showFigure(FIG, { name: "../escape", outDir: tmpDir() }), /plain file stem/);
});

test("the inlined plotly library decompresses to plotly.js-dist byte for byte", () => {
  const script = plotlyLibraryScript();
  const b64 = /atob\("([A-Za-z0-9+/=]+)"\)/.exec(script)?.[1];
  assert.ok(b64);
  const source = fs.readFileSync(require.resolve("plotly.js-dist"));
  assert.ok(gunzipSync(Buffer.from(b64, "base64")).equals(source));
  assert.ok(b64.length < source.length / 3, "inlined library should be well under the 10 MB source");
  assert.ok(!figureHtml(FIG).includes("atob("));
  assert.ok(figureHtml(FIG, { includeLibrary: true }).startsWith(script));
});

test("withPlotlyLibrary adds the library once, in the head, only to pages showing a figure", () => {
  const figure = figureHtml(FIG);
  const page = `<!doctype html><html><head><title>t</title></head><body>${figure}${figure}</body></html>`;
  const out = withPlotlyLibrary(page);
  assert.equal(out.split("DecompressionStream").length - 1, 1);
  assert.ok(out.indexOf("DecompressionStream") < out.indexOf("</head>"));
  assert.equal(out.split(`class="${FIGURE_CLASS}"`).length - 1, 2);
  assert.equal(out.replace(plotlyLibraryScript() + "\n", ""), page);
  const plain = "<html><head></head><body><p>no figures</p></body></html>";
  assert.equal(withPlotlyLibrary(plain), plain);
});

test("encodePng round-trips RGB pixels exactly", async () => {
  const width = 5;
  const height = 3;
  const data = new Uint8Array(width * height * 3).map((_, i) => (i * 37) % 256);
  const png = await encodePng({ width, height, data });
  const back = await sharp(Buffer.from(png)).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([back.info.width, back.info.height, back.info.channels], [width, height, 3]);
  assert.deepEqual([...back.data], [...data]);
  await assert.rejects(encodePng({ width: 2, height: 2, data: new Uint8Array(11) }), /not 2x2x3/);
});

test("tables: union of row keys, 4 significant digits, DataFrame index only when not 0..n-1", () => {
  const rows = tableCells([{ backend: "wasm", ms: 12.3456 }, { backend: "cpu", ms: 1234.5678, note: "slow" }]);
  assert.deepEqual(rows.header, ["backend", "ms", "note"]);
  assert.deepEqual(rows.rows, [["wasm", "12.35", ""], ["cpu", "1235", "slow"]]);
  const df = new dfd.DataFrame({ backend: ["wasm", "cpu"], ms: [1.5, 20] });
  assert.deepEqual(tableCells(df), { header: ["backend", "ms"], rows: [["wasm", "1.5"], ["cpu", "20"]] });
  const indexed = df.setIndex({ column: "backend" });
  assert.deepEqual(tableCells(indexed).header, ["", "backend", "ms"]);
  assert.deepEqual(tableCells(indexed).rows[1], ["cpu", "cpu", "20"]);
});

test("outside a kernel there is no notebook display", () => {
  assert.equal(inNotebook(), false);
  assert.throws(() => displayBundle({ "text/plain": "x" }), /outside a tslab kernel/);
});
