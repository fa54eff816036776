// Every command-line tool follows one convention (lib/util/cli.ts): --help prints the usage on stdout
// and exits 0; a bad flag prints one `error:` line naming it on stderr and exits 2, before any work.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { projectPath } from "../../lib/util/project";

function run(script: string, args: string[]) {
  const r = spawnSync(process.execPath, ["--import", "tsx", projectPath("scripts", `${script}.ts`), ...args], {
    cwd: projectPath(),
    encoding: "utf8",
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function assertBadInput(script: string, args: string[], names: RegExp): void {
  const r = run(script, args);
  const what = `${script} ${args.join(" ")}`;
  assert.equal(r.code, 2, `${what}: exit code (stderr: ${r.stderr})`);
  assert.equal(r.stdout, "", `${what}: nothing on stdout`);
  assert.match(r.stderr, /^error: [^\n]+\n$/, `${what}: one error line`);
  assert.match(r.stderr, names, `${what}: the error names the flag`);
}

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "samfeat-tools-"));
const A_FILE = path.join(TMP, "a-file");
fs.writeFileSync(A_FILE, "not a folder");
after(() => fs.rmSync(TMP, { recursive: true, force: true }));

// Every script, including ones added later: the convention is the contract.
const SCRIPTS = fs.readdirSync(projectPath("scripts")).filter((f) => f.endsWith(".ts")).map((f) => f.slice(0, -3)).sort();

for (const script of SCRIPTS) {
  test(`${script}: --help prints the usage on stdout and exits 0; an unknown flag exits 2 naming it`, () => {
    const help = run(script, ["--help"]);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^usage: /);
    assert.equal(help.stderr, "");
    assertBadInput(script, ["--bogus-flag"], /'--bogus-flag'/);
  });
}

// One bad value of one flag per tool, checked before the tool starts any work.
const BAD_VALUES: { script: string; args: string[]; names: RegExp }[] = [
  { script: "eval", args: ["--dataset", "x", "--method", "sift"], names: /--method sift/ },
  { script: "teach", args: ["--teacher", "magic", "--images", TMP], names: /--teacher magic/ },
  { script: "bench", args: ["--width", "0.01"], names: /--width 0\.01: every layer would clamp/ },
  { script: "make-benchmark", args: ["--photos", TMP, "--out", A_FILE], names: /--out .*a-file/ },
  { script: "run-notebooks", args: ["--timeout", "-3"], names: /--timeout -3/ },
  { script: "kernel-timings", args: ["--only", "fft"], names: /--only fft/ },
];

for (const { script, args, names } of BAD_VALUES) {
  test(`${script} ${args.join(" ")}: exit 2, the error names the flag`, () => assertBadInput(script, args, names));
}

test("eval: output paths are checked before any work", () => {
  const dataset = projectPath("data", "hpatches-sample");
  assertBadInput("eval", ["--dataset", dataset, "--method", "orb", "--out", A_FILE], /--out .*a-file: exists and is not a folder/);
  assertBadInput("eval", ["--dataset", dataset, "--method", "orb", "--json", TMP], /--json .*: is a folder/);
});
