import { describe, expect, test } from "vitest";
import type { Report } from "../../src/report/model.js";
import { renderText } from "../../src/report/text.js";

function auditReport(namespace?: string): Report {
  return {
    command: "audit",
    mode: "enforce",
    objects: [
      {
        kind: "Deployment",
        namespace: "legacy",
        name: "api",
        file: null,
        line: null,
        rules: ["run-as-root"],
        findings: [
          {
            rule: "run-as-root",
            severity: "deny",
            kind: "Deployment",
            namespace: "legacy",
            name: "api",
            file: null,
            line: null,
            path: "spec.template.spec.containers[name=api].securityContext.runAsNonRoot",
            container: "api",
            message: 'container "api" must set securityContext.runAsNonRoot=true',
            fix: 'set securityContext.runAsNonRoot: true on container "api" or on the pod',
          },
        ],
      },
      {
        kind: "ReplicaSet",
        namespace: "legacy",
        name: "api-7d9f",
        file: null,
        line: null,
        rules: [],
        skipped: "controlled by a workload whose template is checked",
        findings: [],
      },
    ],
    errors: [],
    notes: [],
    files: 0,
    documents: 2,
    ...(namespace === undefined ? {} : { namespace }),
  };
}

function summaryLine(text: string): string {
  return text.trimEnd().split("\n").at(-1)!;
}

describe("the text summary says what was looked at", () => {
  test("an audit limited with --namespace names the namespace", () => {
    expect(renderText(auditReport("legacy"), false)).toBe(
      [
        "Deployment legacy/api",
        '  deny  run-as-root  container "api" must set securityContext.runAsNonRoot=true',
        "                     at spec.template.spec.containers[name=api].securityContext.runAsNonRoot",
        '                     fix: set securityContext.runAsNonRoot: true on container "api" or on the pod',
        "",
        "1 finding (1 deny, 0 warn) in 2 objects in namespace legacy, 1 skipped (enforce mode)",
        "",
      ].join("\n"),
    );
  });

  test("an audit of the whole cluster says so", () => {
    expect(summaryLine(renderText(auditReport(), false))).toBe(
      "1 finding (1 deny, 0 warn) in 2 objects in the cluster, 1 skipped (enforce mode)",
    );
  });

  test("a clean namespace says no findings, in that namespace", () => {
    const clean = { ...auditReport("shop"), objects: [] };
    expect(renderText(clean, false)).toBe("no findings in 0 objects in namespace shop (enforce mode)\n");
  });

  test("check counts files", () => {
    const checked: Report = { ...auditReport(), command: "check", files: 1, documents: 2 };
    expect(summaryLine(renderText(checked, false))).toBe(
      "1 finding (1 deny, 0 warn) in 2 objects in 1 file, 1 skipped (enforce mode)",
    );
  });
});
