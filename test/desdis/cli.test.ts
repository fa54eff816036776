import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { projectPath } from "../../lib/util/project";
import { makeTinyDataset } from "../eval/fixtures";

const run = (script: string, ...args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", projectPath("scripts", script), ...args], { encoding: "utf8", cwd: projectPath() });

test("distill --help prints the usage on stdout and exits 0", () => {
  const r = run("distill.ts", "--help");
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^usage: npm run distill -- --teacher FILE\|none --student equal\|light/);
  assert.match(r.stdout, /--reg R +teacher-student regulariser abs\|square\|hinge/);
});

test("distill: bad flags exit 2 with one error line naming the flag", () => {
  const cases: [string[], RegExp][] = [
    [["--student", "light"], /^error: --teacher is required/],
    [["--teacher", "none", "--student", "big"], /^error: --student big: expected one of equal, light\n$/],
    [["--teacher", "no-such-file.safetensors", "--student", "light"], /^error: --teacher no-such-file\.safetensors: file not found\n$/],
    [["--teacher", "none", "--student", "light", "--reg", "abs"], /^error: --reg and --lambda need a teacher/],
    [["--teacher", "none", "--student", "equal", "--width", "16"], /^error: --width 16: an equal-weight network has the L2-Net width, 32\n$/],
    [["--teacher", "none", "--student", "light", "--loss", "triplet"], /^error: --loss triplet: expected one of hardnet, sosnet, hynet\n$/],
    [["--teacher", "none", "--student", "light", "--bogus"], /^error: Unknown option '--bogus'/],
  ];
  for (const [args, message] of cases) {
    const r = run("distill.ts", ...args);
    assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(" "));
  }
});

test("eval --method desdis:FILE: identical images match exactly; a bad detector exits 2", async () => {
  const weights = projectPath("data", "desdis-weights", "desdis-8.safetensors");
  const bad = run("eval.ts", "--dataset", "x", "--method", `desdis:${weights}`, "--detector", "sift");
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^error: --detector sift: expected kaze or samfeat:CHECKPOINT\n$/);
  const notPatch = run("eval.ts", "--dataset", "x", "--method", "orb", "--detector", "kaze");
  assert.equal(notPatch.status, 2);
  assert.match(notPatch.stderr, /^error: --detector kaze: only a desdis:FILE method takes a detector\n$/);
  const missing = run("eval.ts", "--dataset", "x", "--method", "desdis:nothing.safetensors");
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /^error: --method desdis:nothing\.safetensors: nothing\.safetensors: patch network file not found\n$/);

  const root = await makeTinyDataset();
  try {
    const json = path.join(root, "out.json");
    const r = run("eval.ts", "--dataset", root, "--method", `desdis:${weights}`, "--detector", "kaze", "--max-keypoints", "200", "--json", json, "--out", path.join(root, "tables"), "--quiet");
    assert.equal(r.status, 0, r.stderr);
    const s = JSON.parse(fs.readFileSync(json, "utf8"));
    assert.equal(s.method, "desdis-desdis-8+kaze");
    assert.deepEqual([s.pairs, s.pairs_i, s.pairs_v], [2, 1, 1]);
    assert.ok(s.features > 50 && s.features <= 200, `features ${s.features}`);
    // i_same: the same image twice, so the same keypoints and patches: every mutual match is exact.
    assert.deepEqual(s.mma_i, new Array(10).fill(1));
    // v_shift: an integer translation; KAZE and the patches follow it, so most matches are within 1 px.
    assert.ok(s.mma_v[0] > 0.8, `MMA@1 on the shifted pair ${s.mma_v[0]}`);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("desdis-study --help prints the usage; bad flags exit 2 with one error line naming the flag", () => {
  const help = run("desdis-study.ts", "--help");
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^usage: npm run desdis-study -- \[flags\]\n/);
  assert.match(help.stdout, /--sweep-lambdas L,\.\.\. lambdas of the sweep/);
  const cases: [string[], RegExp][] = [
    [["--losses", "hardnet,triplet"], /^error: --losses hardnet,triplet: 'triplet' is not one of hardnet, sosnet, hynet\n$/],
    [["--seeds", "0,-1"], /^error: --seeds 0,-1: '-1' is not a non-negative integer\n$/],
    [["--sweep-lambdas", "1,0"], /^error: --sweep-lambdas 1,0: '0' is not a positive number\n$/],
    [["--sweep-forms", "cube"], /^error: --sweep-forms cube: 'cube' is not one of abs, square, hinge\n$/],
    [["--scale", "huge"], /^error: --scale huge: expected one of default, quick\n$/],
    [["--datasets", "no/such/folder"], /^error: --datasets .*no\/such\/folder.*\n$/],
    [["--bogus"], /^error: Unknown option '--bogus'/],
  ];
  for (const [args, message] of cases) {
    const r = run("desdis-study.ts", ...args);
    assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(" "));
    assert.equal(r.stderr.trim().split("\n").length, 1, `one line: ${r.stderr}`);
  }
});
