// Rich output from inside a real tslab kernel: one display_data output per
// figure carrying plotly JSON, HTML and PNG. The plotly library goes to the
// front end once per session in an output that is at once replaced by an empty
// one, so the saved notebook never holds it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { executeNotebook, formatFailure, joinText, NbOutput, notebookCells } from "../../lib/notebook/run";
import { scratchDir } from "./scratch";


const mime = (o: NbOutput, type: string) => joinText(o.data?.[type]);

test("in a kernel, showFigure emits one output with plotly JSON, HTML and PNG; the library output is emptied once sent", async () => {
  const scratch = scratchDir();
  try {
    const fig = `{ data: [{ type: "bar", x: ["a", "b"], y: [1, 2] }], layout: { title: { text: "T" }, width: 300, height: 200 } }`;
    const file = scratch.notebook("figure.ipynb", [
      'import { showFigure, showTable } from "./lib/plots/display";',
      `await showFigure(${fig});`,
      `await showFigure(${fig});\nshowTable([{ backend: "wasm", ms: 1.5 }]);`,
    ]);
    const run = await executeNotebook(file, { timeoutSec: 180 });
    assert.ok(run.ok, formatFailure(run));
    const cells = notebookCells(run.notebookJson!);
    const [library, ...first] = cells[1].outputs!;
    // What the update left of the library output: an empty text (nbclient applies update_display_data).
    assert.equal(library.output_type, "display_data");
    assert.deepEqual(Object.keys(library.data!), ["text/plain"]);
    assert.equal(mime(library, "text/plain"), "");
    assert.equal(first.length, 1);
    assert.equal(first[0].output_type, "display_data");
    assert.deepEqual(Object.keys(first[0].data!).sort(), ["application/vnd.plotly.v1+json", "image/png", "text/html", "text/plain"]);
    const png = Buffer.from(mime(first[0], "image/png"), "base64");
    assert.equal(png.subarray(1, 4).toString("latin1"), "PNG");
    assert.deepEqual(first[0].data!["application/vnd.plotly.v1+json"], {
      data: [{ type: "bar", x: ["a", "b"], y: [1, 2] }],
      layout: { title: { text: "T" }, width: 300, height: 200 },
    });
    const [second, table] = cells[2].outputs!;
    assert.equal(cells[2].outputs!.length, 2, "the library is sent once per session");
    assert.ok(!run.notebookJson!.includes("DecompressionStream"), "no copy of the library in the saved notebook");
    assert.ok(mime(first[0], "text/html").length < 200_000);
    assert.ok(mime(second, "text/html").length < 200_000);
    assert.match(mime(table, "text/html"), /<td>wasm<\/td><td>1.5<\/td>/);
    assert.match(mime(table, "text/plain"), /^backend {3}ms\n-------  ---\n {3}wasm  1\.5$/);
  } finally {
    scratch.remove();
  }
});

test("in a kernel, showImage emits the title as markdown and the pixels once, as a JPEG of the image's size", async () => {
  const scratch = scratchDir();
  try {
    // A 64x48 image: left half red, right half blue.
    const file = scratch.notebook("image.ipynb", [
      'import { showImage } from "./lib/plots/display";',
      `const data = new Uint8Array(64 * 48 * 3);\nfor (let p = 0; p < 64 * 48; p++) data.set((p % 64) < 32 ? [255, 0, 0] : [0, 0, 255], 3 * p);\nawait showImage({ width: 64, height: 48, data }, { title: "a_b test" });`,
    ]);
    const run = await executeNotebook(file, { timeoutSec: 180 });
    assert.ok(run.ok, formatFailure(run));
    const outputs = notebookCells(run.notebookJson!)[1].outputs!;
    assert.equal(outputs.length, 2);
    assert.deepEqual(Object.keys(outputs[0].data!).sort(), ["text/markdown", "text/plain"]);
    assert.equal(mime(outputs[0], "text/markdown"), "**a\\_b test**");
    assert.deepEqual(Object.keys(outputs[1].data!).sort(), ["image/jpeg", "text/plain"]);
    const jpeg = Buffer.from(mime(outputs[1], "image/jpeg"), "base64");
    const sharp = (await import("sharp")).default;
    const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height, info.channels], [64, 48, 3]);
    // Colours survive the JPEG within a few levels away from the edge.
    const at = (x: number, y: number): number[] => Array.from(data.subarray((y * 64 + x) * 3, (y * 64 + x) * 3 + 3));
    for (const [x, want] of [[8, [255, 0, 0]], [56, [0, 0, 255]]] as const) {
      at(x, 24).forEach((v, c) => assert.ok(Math.abs(v - want[c]) <= 6, `(${x}, 24) channel ${c}: ${v}`));
    }
  } finally {
    scratch.remove();
  }
});
