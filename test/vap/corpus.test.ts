/**
 * The corpus of test/e2e/vapDifferential.test.ts, offline: its `tollgate test` suites hold the
 * apiserver's verdicts (the e2e test checks them against its recording), and its config lets only
 * the policies speak.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runTests } from "../../src/cli/test.js";
import { loadConfigFile } from "../../src/config/load.js";
import { RULES } from "../../src/rules/index.js";
import { captureIO } from "../cli/helpers.js";

const CORPUS = join(import.meta.dirname, "..", "fixtures", "vap-corpus");

describe("the VAP differential corpus", () => {
  it("turns every built-in rule off but namespace-pss-label-missing, which judges only Namespaces", () => {
    const config = loadConfigFile(join(CORPUS, "tollgate.yaml"));
    const on = [...RULES.keys()].filter((id) => config.rules[id]?.severity !== "off");
    expect(on).toEqual(["namespace-pss-label-missing"]);
    expect(config.ratchet).toBe(false);
    expect(config.policies).toEqual([]);
  });

  it("passes `tollgate test` with the apiserver's verdicts as expect: exit 0", async () => {
    const captured = captureIO();
    const code = await runTests([CORPUS], captured.io);
    expect(captured.stderr()).toBe("");
    expect(captured.stdout()).not.toContain("FAIL ");
    expect(captured.stdout().endsWith("\n144 cases: 144 passed, 0 failed\n")).toBe(true);
    expect(code).toBe(0);
  });
});
