// The study each scale trains (npm run reproduce) and what data/runs ships: the counts below are
// worked out by hand from the rows, teachers and seeds, not read from the code under test.
import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultRunName, ROW_NAMES, TRAIN_DEFAULTS } from "../../lib/training/config";
import { listRuns } from "../../lib/training/runs";
import { LADDER_STEPS, scaleGrid, SCALES } from "../../lib/training/scales";
import { projectPath } from "../../lib/util/project";

const defaultGrid = () => scaleGrid("default", { teachers: ["human", "classical"], rows: [...ROW_NAMES], humanSeeds: [0, 1, 2], otherSeeds: [0, 1] });

test("the default grid: 4 rows x (3 human + 2 classical seeds) at the ladder's 600 steps, and baseline and full x 3 human seeds at the training default", () => {
  const grid = defaultGrid();
  assert.equal(LADDER_STEPS, 600);
  assert.ok(TRAIN_DEFAULTS.steps > LADDER_STEPS, "the training default is longer than the ladder");
  assert.equal(grid.length, 4 * 3 + 4 * 2 + 2 * 3);
  const ladder = grid.filter((c) => c.steps === 600);
  assert.equal(ladder.length, 20);
  const longer = grid.filter((c) => c.steps === TRAIN_DEFAULTS.steps);
  assert.deepEqual(longer.map((c) => `${c.row}/${c.teacher}/${c.seed}`).sort(), ["baseline/human/0", "baseline/human/1", "baseline/human/2", "full/human/0", "full/human/1", "full/human/2"]);
  // Everything but the steps is the training default.
  for (const c of grid) assert.deepEqual([c.network.width, c.data.size, c.data.batch], [TRAIN_DEFAULTS.width, TRAIN_DEFAULTS.size, TRAIN_DEFAULTS.batch]);
  assert.equal(new Set(grid.map(defaultRunName)).size, grid.length, "no run twice");
});

test("the training default follows the rows and teachers asked for; the quick scale adds nothing beside its ladder", () => {
  const noBaseline = scaleGrid("default", { teachers: ["human"], rows: ["psrd", "full"], humanSeeds: [0], otherSeeds: [] });
  assert.deepEqual(noBaseline.map((c) => `${c.row}/${c.steps}`), ["psrd/600", "full/600", `full/${TRAIN_DEFAULTS.steps}`]);
  assert.equal(scaleGrid("default", { teachers: ["classical"], rows: [...ROW_NAMES], humanSeeds: [0, 1, 2], otherSeeds: [0, 1] }).length, 8);
  const quick = scaleGrid("quick", { teachers: ["human", "classical"], rows: [...ROW_NAMES], humanSeeds: [0, 1], otherSeeds: [0, 1] });
  assert.equal(quick.length, 16);
  assert.ok(quick.every((c) => c.steps === SCALES.quick.steps && c.data.size === SCALES.quick.size));
});

test("data/runs ships every finished run of the default grid", () => {
  const shipped = new Set(listRuns({ roots: [projectPath("data", "runs")] }).filter((r) => r.finished).map((r) => r.name));
  const missing = defaultGrid().map(defaultRunName).filter((name) => !shipped.has(name));
  assert.deepEqual(missing, []);
});
