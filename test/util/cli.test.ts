// The scripts' shared command-line reader and flag validators.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  choiceFlag,
  choiceListFlag,
  HelpRequest,
  integerFlag,
  outputDir,
  outputFile,
  parseCommandLine,
  parseCommandLineWithOperands,
  positiveFlag,
  positiveListFlag,
  seedListFlag,
  UsageError,
} from "../../lib/util/cli";

const spec = {
  usage: "usage: x --out DIR [--seed S] [--quiet]\n  --out DIR  where",
  options: { out: { type: "string" }, seed: { type: "string", default: "0" }, quiet: { type: "boolean", default: false } },
} as const;

const usageError = (pattern: RegExp) => (e: unknown) => e instanceof UsageError && pattern.test(e.message);

test("parseCommandLine: values by flag name, defaults filled in, a negative number kept for the range check", () => {
  assert.deepEqual({ ...parseCommandLine(["--quiet", "--out", "a b"], spec) }, { out: "a b", seed: "0", quiet: true });
  assert.deepEqual({ ...parseCommandLine(["--seed", "-1"], spec) }, { seed: "-1", quiet: false });
});

test("parseCommandLine: --help and -h are a HelpRequest carrying the whole usage", () => {
  for (const flag of ["--help", "-h"]) {
    assert.throws(() => parseCommandLine(["--out", "x", flag], spec), (e: unknown) => e instanceof HelpRequest && e.usage === spec.usage);
  }
});

test("parseCommandLine: unknown flags, missing values and stray operands are usage errors naming the problem", () => {
  assert.throws(() => parseCommandLine(["--nope"], spec), usageError(/^Unknown option '--nope' \(usage: x --out DIR/));
  assert.throws(() => parseCommandLine(["--out"], spec), usageError(/'--out <value>' argument missing/));
  assert.throws(() => parseCommandLine(["--out", "--quiet"], spec), usageError(/--out/));
  assert.throws(() => parseCommandLine(["--quiet=yes"], spec), usageError(/--quiet/));
  assert.throws(() => parseCommandLine(["stray"], spec), usageError(/'stray'/));
  // Only the usage's first line goes into the one-line error.
  assert.throws(() => parseCommandLine(["--nope"], spec), (e: Error) => !e.message.includes("\n"));
});

test("parseCommandLineWithOperands: operands between and after flags", () => {
  const { values, operands } = parseCommandLineWithOperands(["a", "--quiet", "b"], spec);
  assert.deepEqual(operands, ["a", "b"]);
  assert.equal(values.quiet, true);
});

test("validators: accept what they promise, name the flag and the value otherwise", () => {
  assert.equal(integerFlag(undefined, "--n"), undefined);
  assert.equal(integerFlag("0", "--seed", 0), 0);
  for (const bad of ["0", "1.5", "x", "", "-2"]) assert.throws(() => integerFlag(bad, "--n"), usageError(new RegExp(`^--n ${bad}: expected an integer >= 1$`)));
  assert.equal(positiveFlag("0.25", "--width"), 0.25);
  assert.equal(positiveFlag("0", "--t", true), 0);
  for (const bad of ["0", "-1", "inf", "Infinity", " "]) assert.throws(() => positiveFlag(bad, "--width"), usageError(/^--width .*: expected a number > 0$/));
  assert.equal(choiceFlag("b", "--c", ["a", "b"]), "b");
  assert.throws(() => choiceFlag("z", "--c", ["a", "b"]), usageError(/^--c z: expected one of a, b$/));
});

test("list validators: every item checked, the bad one named with the whole value; seeds once each", () => {
  assert.equal(choiceListFlag(undefined, "--rows", ["a", "b"]), undefined);
  assert.deepEqual(choiceListFlag("b, a", "--rows", ["a", "b"]), ["b", "a"]);
  assert.throws(() => choiceListFlag("a,c", "--rows", ["a", "b"]), usageError(/^--rows a,c: 'c' is not one of a, b$/));
  assert.deepEqual(seedListFlag("2,0,2", "--seeds"), [2, 0]);
  for (const [bad, item] of [["1,-1", "-1"], ["1.5", "1.5"], ["0,", ""], ["x", "x"]]) {
    assert.throws(() => seedListFlag(bad, "--seeds"), usageError(new RegExp(`^--seeds ${bad.replace(".", "\\.")}: '${item.replace(".", "\\.")}' is not a non-negative integer$`)));
  }
  assert.deepEqual(positiveListFlag("0.3,1,3", "--lambdas"), [0.3, 1, 3]);
  assert.throws(() => positiveListFlag("1,0", "--lambdas"), usageError(/^--lambdas 1,0: '0' is not a positive number$/));
});

test("output paths: a creatable folder passes; a file where a folder is wanted (and the reverse) fails naming the flag", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "samfeat-cli-"));
  try {
    const file = path.join(dir, "f.txt");
    fs.writeFileSync(file, "x");
    assert.equal(outputDir(path.join(dir, "new", "deeper"), "--out"), path.join(dir, "new", "deeper"));
    assert.equal(fs.existsSync(path.join(dir, "new")), false, "checking creates nothing");
    assert.throws(() => outputDir(file, "--out"), usageError(/^--out .*f\.txt: exists and is not a folder$/));
    assert.throws(() => outputDir(path.join(file, "sub"), "--out"), usageError(/^--out .*: .*f\.txt is not a folder$/));
    assert.equal(outputFile(path.join(dir, "new", "s.json"), "--json"), path.join(dir, "new", "s.json"));
    assert.throws(() => outputFile(dir, "--json"), usageError(/^--json .*: is a folder, expected a file name$/));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
