import { describe, expect, it } from "vitest";
import { policyReportObject, policyReports } from "../../src/audit/policyReport.js";
import type { Report, ReportFinding, ReportObject } from "../../src/report/model.js";

function finding(rule: string, severity: "deny" | "warn", name: string, namespace = "shop"): ReportFinding {
  return {
    rule,
    severity,
    kind: "Deployment",
    namespace,
    name,
    file: null,
    line: null,
    path: "spec.template.spec.containers[name=web]",
    container: "web",
    message: `${rule} on ${name}`,
    fix: `fix ${rule}`,
  };
}

function object(
  name: string,
  rules: string[],
  findings: ReportFinding[],
  extra: Partial<ReportObject> = {},
): ReportObject {
  return {
    kind: "Deployment",
    apiVersion: "apps/v1",
    namespace: "shop",
    name,
    file: null,
    line: null,
    rules,
    findings,
    ...extra,
  };
}

function report(objects: ReportObject[]): Report {
  return {
    command: "audit",
    mode: "enforce",
    objects,
    errors: [],
    notes: [],
    files: 0,
    documents: objects.length,
  };
}

const options = {
  maxResults: 500,
  descriptors: new Map(),
  namespaces: ["shop", "empty"],
  isAdmissionRule: (id: string) => id !== "namespace-limitrange-missing",
};

describe("policy reports from an audit report", () => {
  const exempted = {
    ...finding("run-as-root", "deny", "legacy"),
    exemption: { source: "annotation" as const, reason: "vendor image", until: "2027-01-31" },
  };
  const objects = [
    object(
      "web",
      ["run-as-root", "container-limits-missing", "seccomp-profile-missing"],
      [finding("seccomp-profile-missing", "warn", "web"), finding("container-limits-missing", "deny", "web")],
    ),
    object("legacy", ["run-as-root", "container-limits-missing"], [], { exempted: [exempted] }),
    object("owned", [], [], { skipped: "controlled by a workload whose template is checked" }),
    {
      kind: "Namespace",
      namespace: "",
      name: "shop",
      file: null,
      line: null,
      rules: ["namespace-limitrange-missing"],
      findings: [{ ...finding("namespace-limitrange-missing", "deny", "shop", ""), kind: "Namespace" }],
    },
    {
      kind: "ClusterRoleBinding",
      namespace: "",
      name: "admins",
      file: null,
      line: null,
      rules: ["cluster-admin-binding"],
      findings: [{ ...finding("cluster-admin-binding", "warn", "admins", ""), kind: "ClusterRoleBinding" }],
    },
  ];

  it("one per namespace and one cluster-wide: fail, warn, skip listed, pass counted, exact summary", () => {
    const contents = policyReports(report(objects), options);
    expect(contents.map((c) => [c.namespace, c.summary, c.enforceReady])).toEqual([
      [undefined, { pass: 0, fail: 0, warn: 1, error: 0, skip: 0 }, true],
      ["empty", { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 }, true],
      // web: run-as-root passes; legacy: container-limits-missing passes; the Namespace's own item fails.
      ["shop", { pass: 2, fail: 2, warn: 1, error: 0, skip: 1 }, false],
    ]);
    const shop = contents[2]!;
    expect(
      shop.results.map(
        (r) => `${r.result} ${r.severity} ${r.policy} ${r.resources[0]!.kind}/${r.resources[0]!.name}`,
      ),
    ).toEqual([
      "fail high container-limits-missing Deployment/web",
      "fail high namespace-limitrange-missing Namespace/shop",
      "warn medium seccomp-profile-missing Deployment/web",
      "skip high run-as-root Deployment/legacy",
    ]);
    expect(shop.results[3]!.properties).toEqual({
      path: "spec.template.spec.containers[name=web]",
      container: "web",
      fix: "fix run-as-root",
      "exemption.source": "annotation",
      "exemption.reason": "vendor image",
      "exemption.until": "2027-01-31",
    });
  });

  it("a namespace is ready for enforce when only checklist items (no admission rule) fail there", () => {
    const onlyChecklist = objects.filter((o) => o.kind === "Namespace");
    const shop = policyReports(report(onlyChecklist), options).find((c) => c.namespace === "shop")!;
    expect(shop.summary.fail).toBe(1);
    expect(shop.enforceReady).toBe(true);
  });

  it("cuts the results to maxResults, fail first, and keeps the summary exact", () => {
    const many = Array.from({ length: 30 }, (_, i) =>
      object(
        `app-${String(i).padStart(2, "0")}`,
        ["run-as-root", "seccomp-profile-missing"],
        [finding("seccomp-profile-missing", "warn", `app-${i}`), finding("run-as-root", "deny", `app-${i}`)],
      ),
    );
    const shop = policyReports(report(many), { ...options, maxResults: 40 }).find(
      (c) => c.namespace === "shop",
    )!;
    expect(shop.summary).toEqual({ pass: 0, fail: 30, warn: 30, error: 0, skip: 0 });
    expect(shop.results).toHaveLength(40);
    expect(shop.total).toBe(60);
    expect(shop.results.filter((r) => r.result === "fail")).toHaveLength(30);
    const written = policyReportObject(shop, new Date("2026-12-03T10:00:00Z")) as {
      metadata: { annotations: Record<string, string> };
    };
    expect(written.metadata.annotations["tollgate.dev/results-listed"]).toBe("40 of 60");
  });

  it("the digest changes with the content, not with the time it is written", () => {
    const [a] = policyReports(report(objects), options).filter((c) => c.namespace === "shop");
    const [b] = policyReports(report(objects), options).filter((c) => c.namespace === "shop");
    expect(a!.digest).toBe(b!.digest);
    const fixed = objects.map((o) => (o.name === "web" ? { ...o, findings: [] } : o));
    const [c] = policyReports(report(fixed), options).filter((x) => x.namespace === "shop");
    expect(c!.digest).not.toBe(a!.digest);
    const one = policyReportObject(a!, new Date("2026-12-03T10:00:00Z")) as {
      results: { timestamp: unknown }[];
      kind: string;
      metadata: unknown;
    };
    expect(one.kind).toBe("PolicyReport");
    expect(one.metadata).toEqual({
      name: "tollgate",
      namespace: "shop",
      labels: { "app.kubernetes.io/managed-by": "tollgate" },
      annotations: { "tollgate.dev/digest": a!.digest },
    });
    expect(one.results[0]!.timestamp).toEqual({
      seconds: Date.parse("2026-12-03T10:00:00Z") / 1000,
      nanos: 0,
    });
  });

  it("clips attacker-sized messages", () => {
    const long = { ...finding("run-as-root", "deny", "web"), message: "x".repeat(10_000) };
    const [shop] = policyReports(report([object("web", ["run-as-root"], [long])]), options).filter(
      (c) => c.namespace === "shop",
    );
    expect(shop!.results[0]!.message).toHaveLength(512);
  });
});
