// A notebook with figures, executed headless, stays small (no plotly library inside) and its HTML
// export draws every figure in a browser: the exported page is loaded in headless Chromium and
// each figure's container must have become a plotly chart, with no script error on the page.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { exportNotebookHtml } from "../../lib/notebook/export-html";
import { executeNotebook, formatFailure, writeNotebook } from "../../lib/notebook/run";
import { dumpDom, findChromium } from "../../lib/plots/chromium";
import { FIGURE_CLASS } from "../../lib/plots/html";
import { scratchDir } from "../notebooks/scratch";

const figure = (k: number) =>
  `{ data: [{ type: "scatter", mode: "lines+markers", x: [1, 2, 3, 4, 5], y: [${[1, 2, 3, 4, 5].map((t) => k * t)}], name: "method ${k}" }],` +
  ` layout: { title: { text: "Figure ${k}" }, xaxis: { title: { text: "threshold (px)" } }, yaxis: { title: { text: "MMA (%)" } }, width: 500, height: 300 } }`;

// Injected first in the page under test: script errors, rejected promises and console.error calls
// are written into <pre id="page-errors">, which the dumped DOM then carries. Failed loads of
// resources (nbconvert's template asks a CDN for require.js and MathJax; offline they fail) are
// plain Events, not ErrorEvents, and do not count.
const ERROR_PROBE = `<script>
(function () {
  var errors = [];
  function note(text) {
    errors.push(text);
    var el = document.getElementById("page-errors");
    if (!el) { el = document.createElement("pre"); el.id = "page-errors"; document.documentElement.appendChild(el); }
    el.textContent = JSON.stringify(errors);
  }
  window.addEventListener("error", function (e) { if (e instanceof ErrorEvent) note("error: " + e.message); }, true);
  window.addEventListener("unhandledrejection", function (e) { note("unhandled rejection: " + (e.reason && e.reason.message ? e.reason.message : String(e.reason))); });
  var consoleError = console.error;
  console.error = function () { note("console.error: " + Array.prototype.map.call(arguments, String).join(" ")); return consoleError.apply(console, arguments); };
})();
</script>`;

test("an executed notebook with 3 figures is small, and its HTML export draws all 3 in chromium without errors", async (t) => {
  const browser = findChromium();
  assert.ok("path" in browser, "reason" in browser ? browser.reason : "");
  const scratch = scratchDir();
  try {
    const file = scratch.notebook("figures.ipynb", [
      'import { showFigure } from "./lib/plots/display";',
      `await showFigure(${figure(1)});\nawait showFigure(${figure(2)});`,
      `await showFigure(${figure(3)});`,
    ]);
    const run = await executeNotebook(file, { timeoutSec: 120 });
    assert.ok(run.ok, formatFailure(run));
    writeNotebook(file, run.notebookJson!);
    const bytes = fs.statSync(file).size;
    t.diagnostic(`executed notebook with 3 figures: ${bytes} bytes`);
    assert.ok(!run.notebookJson!.includes("DecompressionStream"), "the plotly library must not be saved in the notebook");
    assert.ok(bytes < 300_000, `${bytes} bytes for 3 small figures`);

    const { file: html, figures } = await exportNotebookHtml(file);
    assert.equal(figures, 3);
    const page = fs.readFileSync(html, "utf8");
    const probed = path.join(scratch.dir, "probed.html");
    fs.writeFileSync(probed, page.replace("<head>", `<head>${ERROR_PROBE}`));

    const { dom, stderr } = await dumpDom(probed, { browser: browser.path, timeoutMs: 45_000 });
    const containers = [...dom.matchAll(new RegExp(`<div[^>]*class="([^"]*\\b${FIGURE_CLASS}\\b[^"]*)"`, "g"))].map((m) => m[1]);
    assert.equal(containers.length, 3, `figure containers in the dumped DOM (chromium: ${stderr.split("\n").slice(-3).join(" | ")})`);
    assert.deepEqual(containers.map((c) => /\bjs-plotly-plot\b/.test(c)), [true, true, true], "every container became a plotly chart");
    assert.ok((dom.match(/<svg class="main-svg"/g) ?? []).length >= 3, "each chart drew its SVG");
    const errors = /<pre id="page-errors">([^<]*)<\/pre>/.exec(dom)?.[1];
    assert.equal(errors, undefined, `page errors: ${errors}`);
  } finally {
    scratch.remove();
  }
});
