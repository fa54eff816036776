// Rich output from inside a real tslab kernel: one display_data output per
// figure carrying plotly JSON, HTML and PNG, with the plotly library inlined
// only by the first figure of the session.
import { test } from "node:test";
import assert from "node:assert/strict";
import { executeNotebook, formatFailure, joinText, NbOutput, notebookCells } from "../../lib/notebook/run";
import { scratchDir } from "./scratch";


const mime = (o: NbOutput, type: string) => joinText(o.data?.[type]);

test("in a kernel, showFigure emits one output with plotly JSON, HTML and PNG; the library only once", async () => {
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
    const first = cells[1].outputs!;
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
    assert.ok(mime(first[0], "text/html").includes("DecompressionStream"));
    assert.ok(!mime(second, "text/html").includes("DecompressionStream"));
    assert.ok(mime(second, "text/html").length < 200_000);
    assert.match(mime(table, "text/html"), /<td>wasm<\/td><td>1.5<\/td>/);
    assert.match(mime(table, "text/plain"), /^backend {3}ms\n-------  ---\n {3}wasm  1\.5$/);
  } finally {
    scratch.remove();
  }
});
