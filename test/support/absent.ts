// Tests of optional components (the native addon, numpy for the .npz round trip): on a user's
// machine a test skips when its component is absent, with the reason in the report; under CI=true
// it fails instead, so a broken or incomplete install can never leave CI green.
import assert from "node:assert/strict";
import type { TestContext } from "node:test";

/** True when the test must stop here (it was skipped); throws under CI=true when the component is absent. */
export function skipWhenAbsent(t: TestContext, absentReason: string | false): boolean {
  if (!absentReason) return false;
  if (process.env.CI === "true") assert.fail(`${absentReason} (CI=true: required, so this fails instead of skipping)`);
  t.skip(absentReason);
  return true;
}
