// A checkout without the native build: under CI=true the native kernel tests fail rather than
// skip, so CI cannot pass on a broken native build; without CI=true they skip and say why.
// Runs test/native/kernels.test.ts in a temporary clone of the committed tree (which has no
// native/build, a git-ignored folder), sharing this checkout's node_modules.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROJECT_ROOT, projectPath } from "../../lib/util/project";
import { skipWhenAbsent } from "../support/absent";

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "samfeat-nonative-"));
after(() => fs.rmSync(TMP, { recursive: true, force: true }));

/** A clone with just what the native tests need; undefined (with the reason) when git cannot make one. */
function cloneWithoutNativeBuild(): { dir?: string; absent: string | false } {
  const dir = path.join(TMP, "clone");
  const git = (...args: string[]) => spawnSync("git", args, { encoding: "utf8" });
  // --shared borrows this repository's objects, so the clone costs no copying.
  const clone = git("clone", "--quiet", "--shared", "--no-checkout", PROJECT_ROOT, dir);
  if (clone.error || clone.status !== 0) return { absent: `cannot clone the project with git (${clone.error?.message ?? clone.stderr.trim()})` };
  const checkout = git("-C", dir, "checkout", "--quiet", "HEAD", "--", "lib", "native", "test/native", "test/support", "package.json", "tsconfig.json");
  if (checkout.status !== 0) return { absent: `git checkout in the clone failed (${checkout.stderr.trim()})` };
  fs.symlinkSync(projectPath("node_modules"), path.join(dir, "node_modules"));
  return { dir, absent: false };
}

function runNativeTests(dir: string, ci: boolean) {
  const env = { ...process.env };
  delete env.CI;
  // Inside a test run, node marks children as sub-runners (which report to the parent and exit 0).
  delete env.NODE_TEST_CONTEXT;
  if (ci) env.CI = "true";
  const r = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-reporter=tap", path.join("test", "native", "kernels.test.ts")], {
    cwd: dir,
    env,
    encoding: "utf8",
  });
  const count = (key: string) => Number(new RegExp(`^# ${key} (\\d+)$`, "m").exec(r.stdout)?.[1]);
  return { code: r.status, out: r.stdout, tests: count("tests"), pass: count("pass"), fail: count("fail"), skipped: count("skipped") };
}

test("without the native build: CI=true fails every native test; otherwise each skips with its reason", (t) => {
  const { dir, absent } = cloneWithoutNativeBuild();
  if (skipWhenAbsent(t, absent)) return;
  assert.equal(fs.existsSync(path.join(dir!, "native", "build")), false, "the clone has no native build");

  const ci = runNativeTests(dir!, true);
  assert.notEqual(ci.code, 0, "CI=true must fail");
  assert.ok(ci.tests > 0, ci.out);
  assert.deepEqual([ci.fail, ci.skipped, ci.pass], [ci.tests, 0, 0], ci.out);
  assert.match(ci.out, /native addon not built.*CI=true: required/);

  const user = runNativeTests(dir!, false);
  assert.equal(user.code, 0, user.out);
  assert.deepEqual([user.skipped, user.fail], [user.tests, 0], user.out);
  assert.match(user.out, /# SKIP native kernels absent: native addon not built/);
});
