// Every notebook in notebooks/ runs headless from top to bottom, executed into a
// temporary folder: the committed file is never touched.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { executeNotebook, formatFailure, listNotebooks, PROJECT_ROOT, writeNotebook, notebookCells } from "../../lib/notebook/run";


const sha256 = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex");

for (const file of listNotebooks(path.join(PROJECT_ROOT, "notebooks"))) {
  const name = path.basename(file);
  test(`notebooks/${name} runs headless without errors`, async () => {
    const before = sha256(file);
    const run = await executeNotebook(file, { timeoutSec: 600 });
    assert.equal(sha256(file), before, "the committed notebook was modified");
    assert.ok(run.ok, formatFailure(run));
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "samfeat-nbtest-"));
    try {
      writeNotebook(path.join(out, name), run.notebookJson!);
      const cells = notebookCells(fs.readFileSync(path.join(out, name), "utf8"));
      // Every plotly figure must also render where plotly JSON cannot (HTML) and where HTML cannot (PNG).
      for (const o of cells.flatMap((c) => c.outputs ?? [])) {
        if (o.data && "application/vnd.plotly.v1+json" in o.data) {
          assert.ok("text/html" in o.data && "image/png" in o.data, `${name}: a figure output lacks HTML or PNG`);
        }
      }
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
}
