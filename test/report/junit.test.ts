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

/**
 * The rules that check a Deployment or Pod in `tollgate check` by default, in catalog order: not the
 * ones that are off by default, nor networkpolicy-missing and pdb-missing, which need the webhook's cache.
 */
const POD_SPEC_RULES = [
  "container-requests-missing",
  "container-limits-missing",
  "privileged-container",
  "run-as-root",
  "privilege-escalation-allowed",
  "capabilities-not-dropped",
  "dangerous-capabilities-added",
  "seccomp-profile-missing",
  "writable-root-filesystem",
  "host-namespaces",
  "host-path-volume",
  "host-port",
  "proc-mount-unmasked",
  "sysctls-unsafe",
  "apparmor-unconfined",
  "selinux-custom-options",
  "default-service-account",
  "service-account-token-automounted",
  "image-tag-mutable",
  "liveness-probe-missing",
  "readiness-probe-missing",
  "secret-in-env-literal",
];
const FAILED_ON_DEBUG = new Set(["privileged-container", "run-as-root", "privilege-escalation-allowed"]);

describe("JUnit output", () => {
  test("one suite per file, one case per object and rule, failures for deny findings", async () => {
    const { code, xml, suites } = await junitOf(["test/fixtures/check/tree"]);
    expect(code).toBe(1);
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites')).toBe(true);
    expect(suites.testsuite.map((s) => [s["@_name"], s["@_tests"], s["@_failures"]])).toEqual([
      ["test/fixtures/check/tree/apps/nested/db.yml", "22", "1"],
      ["test/fixtures/check/tree/apps/web.yaml", "44", "3"],
      ["test/fixtures/check/tree/rbac.json", "4", "1"],
    ]);
    expect(suites["@_tests"]).toBe("70");
    expect(suites["@_failures"]).toBe("5");
    const web = suites.testsuite[1]!;
    expect(web.testcase.map((c) => `${c["@_classname"]} ${c["@_name"]}${c.failure ? " FAIL" : ""}`)).toEqual([
      ...POD_SPEC_RULES.map((rule) => `Deployment shop/web ${rule}`),
      ...POD_SPEC_RULES.map((rule) => `Pod shop/debug ${rule}${FAILED_ON_DEBUG.has(rule) ? " FAIL" : ""}`),
    ]);
    const failed = web.testcase[POD_SPEC_RULES.length + 2]!;
    expect(failed["@_name"]).toBe("privileged-container");
    expect(failed["@_line"]).toBe("69");
    expect(failed.failure?.["@_message"]).toBe('container "shell" sets securityContext.privileged=true');
    expect(failed.failure?.["#text"]).toBe(
      'test/fixtures/check/tree/apps/web.yaml:69 spec.containers[name=shell].securityContext.privileged: container "shell" sets securityContext.privileged=true\nfix: remove securityContext.privileged from container "shell"; add only the capabilities it needs',
    );
  });

  test("no case for a rule that does not cover the kind or that needs the webhook's cache", async () => {
    const captured = captureIO({
      stdin: [
        "apiVersion: batch/v1",
        "kind: Job",
        "metadata: {name: migrate, namespace: shop}",
        "spec:",
        "  template:",
        "    spec:",
        "      restartPolicy: Never",
        "      containers: [{name: migrate, image: app:1}]",
        "",
      ].join("\n"),
    });
    await runCheck(["-", "--output", "junit"], captured.io);
    const parsed = parser.parse(captured.stdout()) as { testsuites: { testsuite: Suite[] } };
    expect(parsed.testsuites.testsuite[0]!.testcase.map((c) => c["@_name"])).toEqual(
      POD_SPEC_RULES.filter(
        (rule) => rule !== "liveness-probe-missing" && rule !== "readiness-probe-missing",
      ),
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
