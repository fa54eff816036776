// Every notebook in notebooks/ runs headless from top to bottom, executed into a
// temporary folder: the committed file is never touched. Each runs on the shipped runs (the default
// scale, as npm start does); each notebook that reads training runs also runs at the quick scale,
// where its tiny runs are trained and evaluated on the spot (outputs/runs-quick, outputs/desdis-quick).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { executeNotebook, formatFailure, listNotebooks, PROJECT_ROOT, writeNotebook, notebookCells } from "../../lib/notebook/run";


const sha256 = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex");

const NOTEBOOKS = listNotebooks(path.join(PROJECT_ROOT, "notebooks"));
// The entry points that find finished runs at the default scale and train tiny ones at the quick scale.
const readsRuns = (file: string) => /\b(workbookLadder|workbookTeacherLadders|workbookTrainingDefault|desdisStudy)\(/.test(fs.readFileSync(file, "utf8"));
const cases = [
  ...NOTEBOOKS.map((file) => ({ file, scale: "default" })),
  ...NOTEBOOKS.filter(readsRuns).map((file) => ({ file, scale: "quick" })),
];

test("the notebooks of the ablation ladder and the DesDis study read their runs through workbookLadder, workbookTeacherLadders or desdisStudy (so the quick scale reaches them)", () => {
  const ladder = NOTEBOOKS.filter((f) => /^0[3-9]-/.test(path.basename(f)));
  assert.ok(ladder.length >= 4, `expected notebooks 03 to 09, found ${ladder.map((f) => path.basename(f)).join(", ")}`);
  for (const f of ladder) assert.ok(readsRuns(f), `${path.basename(f)} calls none of workbookLadder, workbookTeacherLadders and desdisStudy`);
});

for (const { file, scale } of cases) {
  const name = path.basename(file);
  test(`notebooks/${name} runs headless without errors (${scale} scale)`, async () => {
    const before = sha256(file);
    const run = await executeNotebook(file, { timeoutSec: 900, env: { SAMFEAT_SCALE: scale } });
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
