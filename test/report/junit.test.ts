import { XMLParser } from "fast-xml-parser";
import { describe, expect, test } from "vitest";
import { runCheck } from "../../src/cli/check.js";
import { captureIO } from "../cli/helpers.js";

interface Case {
  "@_name": string;
  "@_classname": string;
  "@_file"?: string;
  "@_line"?: string;
  failure?: { "@_message": string; "@_type": string; "#text": string };
  error?: { "@_message": string };
  "system-out"?: string;
}
interface Suite {
  "@_name": string;
  "@_tests": string;
  "@_failures": string;
  "@_errors": string;
  testcase: Case[];
}

const parser = new XMLParser({
  ignoreAttributes: false,
  isArray: (name) => name === "testsuite" || name === "testcase",
});

async function junitOf(args: string[]) {
  const captured = captureIO();
  const code = await runCheck([...args, "--output", "junit"], captured.io);
  const xml = captured.stdout();
  const parsed = parser.parse(xml) as {
    testsuites: { "@_tests": string; "@_failures": string; testsuite: Suite[] };
  };
  return { code, xml, suites: parsed.testsuites };
}

describe("JUnit output", () => {
  test("one suite per file, one case per object and rule, failures for deny findings", async () => {
    const { code, xml, suites } = await junitOf(["test/fixtures/check/tree"]);
    expect(code).toBe(1);
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites')).toBe(true);
    expect(suites.testsuite.map((s) => [s["@_name"], s["@_tests"], s["@_failures"]])).toEqual([
      ["test/fixtures/check/tree/apps/nested/db.yml", "5", "1"],
      ["test/fixtures/check/tree/apps/web.yaml", "10", "2"],
      ["test/fixtures/check/tree/rbac.json", "1", "1"],
    ]);
    expect(suites["@_tests"]).toBe("16");
    expect(suites["@_failures"]).toBe("4");
    const web = suites.testsuite[1]!;
    expect(web.testcase.map((c) => `${c["@_classname"]} ${c["@_name"]}${c.failure ? " FAIL" : ""}`)).toEqual([
      "Deployment shop/web container-requests-missing",
      "Deployment shop/web container-limits-missing",
      "Deployment shop/web privileged-container",
      "Deployment shop/web run-as-root",
      "Deployment shop/web default-service-account",
      "Pod shop/debug container-requests-missing",
      "Pod shop/debug container-limits-missing",
      "Pod shop/debug privileged-container FAIL",
      "Pod shop/debug run-as-root FAIL",
      "Pod shop/debug default-service-account",
    ]);
    const failed = web.testcase[7]!;
    expect(failed["@_line"]).toBe("42");
    expect(failed.failure?.["@_message"]).toBe('container "shell" sets securityContext.privileged=true');
    expect(failed.failure?.["#text"]).toBe(
      'test/fixtures/check/tree/apps/web.yaml:42 spec.containers[name=shell].securityContext.privileged: container "shell" sets securityContext.privileged=true\nfix: remove securityContext.privileged from container "shell"; add only the capabilities it needs',
    );
  });

  test("input errors are error cases; warnings pass with their text in system-out", async () => {
    const { code, suites } = await junitOf(["test/fixtures/check/broken", "--mode", "warn"]);
    expect(code).toBe(2);
    const input = suites.testsuite.find((s) => s["@_name"] === "input errors")!;
    expect(input["@_errors"]).toBe("3");
    expect(input.testcase[0]!["@_classname"]).toBe("test/fixtures/check/broken/b-broken.yaml:10");
    expect(input.testcase[0]!.error?.["@_message"]).toBe("invalid YAML: bad indentation of a mapping entry");
    const role = suites.testsuite.find((s) => s["@_name"] === "test/fixtures/check/broken/b-broken.yaml")!;
    const wildcard = role.testcase.find((c) => c["@_name"] === "rbac-wildcard")!;
    expect(wildcard.failure).toBeUndefined();
    expect(wildcard["system-out"]).toBe(
      'warn rbac-wildcard rules[0].apiGroups: rule 0 grants "*" in apiGroups (fix: list the apiGroups the subject needs instead of "*" in rules[0])',
    );
  });

  test("escapes what XML cannot hold raw", async () => {
    const captured = captureIO({
      stdin:
        'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: "a<b>&\\"c"}\nrules: [{apiGroups: ["*"], resources: [x], verbs: [get]}]\n',
    });
    await runCheck(["-", "--output", "junit"], captured.io);
    expect(captured.stdout()).toContain('classname="ClusterRole a&lt;b&gt;&amp;&quot;c"');
    const parsed = parser.parse(captured.stdout()) as { testsuites: { testsuite: Suite[] } };
    expect(parsed.testsuites.testsuite[0]!.testcase[0]!["@_classname"]).toBe('ClusterRole a<b>&"c');
  });
});
