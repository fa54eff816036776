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
