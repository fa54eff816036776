// The scripts' shared flag reader.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFlags, UsageError } from "../../lib/util/cli";

const spec = { valued: ["--out", "--seed"], switches: ["--quiet"], usage: "usage: x --out DIR [--seed S] [--quiet]" };

test("readFlags: values by flag, switches as a set, in any order", () => {
  const { values, switches } = readFlags(["--quiet", "--seed", "7", "--out", "a b"], spec);
  assert.deepEqual(values, { "--seed": "7", "--out": "a b" });
  assert.deepEqual([...switches], ["--quiet"]);
  assert.equal(readFlags([], spec).switches.size, 0);
});

test("readFlags: unknown flags, missing values and --help are usage errors naming the problem", () => {
  const fails = (argv: string[], message: string) =>
    assert.throws(() => readFlags(argv, spec), (e: unknown) => e instanceof UsageError && e.message === message);
  fails(["--nope"], `unknown argument "--nope" (${spec.usage})`);
  fails(["--out"], "--out needs a value");
  fails(["--out", "--quiet"], "--out needs a value");
  fails(["-h"], spec.usage);
  fails(["--help"], spec.usage);
});
