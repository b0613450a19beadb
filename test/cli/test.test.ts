import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runTests } from "../../src/cli/test.js";
import { captureIO } from "./helpers.js";

const FIXTURES = join(import.meta.dirname, "..", "fixtures", "tollgate-test");
const temporary: string[] = [];

afterEach(() => {
  for (const dir of temporary.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function run(args: string[]) {
  const captured = captureIO();
  const code = await runTests(args, captured.io);
  return { code, stdout: captured.stdout(), stderr: captured.stderr() };
}

describe("tollgate test", () => {
  it("passes every case of a suite through the webhook's path: exit 0", async () => {
    const result = await run([join(FIXTURES, "basic")]);
    expect(result).toEqual({
      code: 0,
      stderr: "",
      stdout: [
        "PASS a compliant pod is allowed without a warning",
        "PASS a root pod is denied",
        "PASS in warn mode the root pod only warns",
        "PASS the ratchet lets a pod that already ran as root be updated",
        "PASS deleting a root pod is allowed (DELETE is not judged)",
        "",
        "5 cases: 5 passed, 0 failed",
        "",
      ].join("\n"),
    });
  });

  it("runs ValidatingAdmissionPolicies with bindings, params and Namespaces from resources", async () => {
    const result = await run([join(FIXTURES, "policies")]);
    expect(result).toEqual({
      code: 0,
      stderr: "",
      stdout: [
        "PASS a ConfigMap without its owner annotation is denied in a prod namespace",
        "PASS with the annotation it is allowed",
        "PASS outside prod the binding does not apply",
        "PASS in warn mode the denial is a warning",
        "",
        "4 cases: 4 passed, 0 failed",
        "",
      ].join("\n"),
    });
  });

  it("passes the worked examples of docs/policies.md", async () => {
    const result = await run([join(import.meta.dirname, "..", "..", "docs", "examples", "policies")]);
    expect(result.stderr).toBe("");
    expect(result.stdout.endsWith("6 cases: 6 passed, 0 failed\n")).toBe(true);
    expect(result.code).toBe(0);
  });

  it("names the failing case with what it expected and what it got: exit 1", async () => {
    const result = await run([join(FIXTURES, "failing")]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe(
      [
        `FAIL wrongly expects the root pod to pass (${join(FIXTURES, "failing", "tollgate-test.yaml")}:2)`,
        "     verdict: expected allowed, got denied",
        "     rules: expected [host-port], got [run-as-root]",
        '     denial: tollgate: Pod "web" in namespace "team-a" has 1 violation:',
        "     denial: - run-as-root: pod sets securityContext.runAsNonRoot=false at spec.securityContext.runAsNonRoot. Fix: set spec.securityContext.runAsNonRoot: true",
        "",
        "1 case: 0 passed, 1 failed",
        "",
      ].join("\n"),
    );
  });

  it("writes one JUnit testcase per case, with a failure for the failing one", async () => {
    const result = await run([FIXTURES, "--output", "junit"]);
    expect(result.code).toBe(1);
    expect(result.stdout.match(/<testcase /g)).toHaveLength(10);
    expect(result.stdout).toContain('<testsuites name="tollgate test" tests="10" failures="1">');
    expect(result.stdout).toContain(
      '<testcase name="wrongly expects the root pod to pass" classname="' +
        join(FIXTURES, "failing", "tollgate-test.yaml") +
        '">\n      <failure message="verdict: expected allowed, got denied">',
    );
  });

  it("gives an input error with file, line and field for a broken suite: exit 2", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tollgate-test-"));
    temporary.push(dir);
    writeFileSync(
      join(dir, "tollgate-test.yaml"),
      "cases:\n  - name: x\n    object: missing.yaml\n    expect: {verdict: maybe}\n",
    );
    const result = await run([dir]);
    expect(result).toEqual({
      code: 2,
      stdout: "",
      stderr: `tollgate test: ${join(dir, "tollgate-test.yaml")}:4: cases.0.expect.verdict: must be one of "allowed", "denied", "warned"\n`,
    });
    writeFileSync(
      join(dir, "tollgate-test.yaml"),
      "cases:\n  - name: x\n    object: missing.yaml\n    expect: {verdict: denied}\n",
    );
    const missing = await run([dir]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(`tollgate test: ${join(dir, "missing.yaml")}: no such file or folder\n`);
  });
});
