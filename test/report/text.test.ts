import { describe, expect, test } from "vitest";
import type { Report, ReportFinding, ReportObject } from "../../src/report/model.js";
import { scoresOf } from "../../src/report/score.js";
import { renderText, terminalWidth, type TextOptions } from "../../src/report/text.js";

const PLAIN: TextOptions = { color: false, width: 100, explain: false };

function finding(
  object: Pick<ReportObject, "kind" | "namespace" | "name" | "file">,
  rule: string,
  severity: "deny" | "warn",
  line: number | null,
  message: string,
  fix: string,
): ReportFinding {
  return {
    rule,
    severity,
    kind: object.kind,
    namespace: object.namespace,
    name: object.name,
    file: object.file,
    line,
    path: `spec.${rule}`,
    container: null,
    message,
    fix,
  };
}

function object(
  kind: string,
  name: string,
  file: string | null,
  line: number | null,
  findings: (base: ReportObject) => ReportFinding[],
  extra: Partial<ReportObject> = {},
): ReportObject {
  const base: ReportObject = {
    kind,
    namespace: "shop",
    name,
    file,
    line,
    rules: ["run-as-root"],
    findings: [],
    ...extra,
  };
  return { ...base, findings: findings(base) };
}

/** Two files, three objects: findings out of line order, an exemption, a notice, a clean object. */
function checkReport(): Report {
  const web = object("Deployment", "web", "app/web.yaml", 1, (o) => [
    finding(
      o,
      "run-as-root",
      "deny",
      24,
      'container "web" must set securityContext.runAsNonRoot=true',
      'set securityContext.runAsNonRoot: true on container "web" or on the pod',
    ),
    finding(
      o,
      "service-account-token-automounted",
      "warn",
      12,
      "pod must set automountServiceAccountToken=false",
      "set automountServiceAccountToken: false in the pod spec unless it calls the Kubernetes API",
    ),
  ]);
  const legacy = object("Deployment", "legacy", "app/web.yaml", 30, () => [], {
    exempted: [
      {
        ...finding(
          { kind: "Deployment", namespace: "shop", name: "legacy", file: "app/web.yaml" },
          "run-as-root",
          "deny",
          52,
          "m",
          "f",
        ),
        exemption: { source: "annotation", reason: "vendor image runs as root", until: "2027-01-31" },
      },
    ],
    notices: ['exemption: "run-as-rot" in tollgate.dev/exempt is no rule'],
  });
  const db = object("StatefulSet", "db", "db.yaml", 1, (o) => [
    finding(
      o,
      "service-account-token-automounted",
      "warn",
      9,
      "pod must set automountServiceAccountToken=false",
      "set automountServiceAccountToken: false in the pod spec unless it calls the Kubernetes API",
    ),
    finding(
      o,
      "liveness-probe-missing",
      "warn",
      14,
      'container "db" has no livenessProbe',
      'add a livenessProbe to container "db"',
    ),
  ]);
  const clean = object("Deployment", "api", "db.yaml", 40, () => []);
  return {
    command: "check",
    mode: "enforce",
    objects: [web, legacy, db, clean],
    errors: [],
    notes: [],
    files: 2,
    documents: 4,
  };
}

describe("the text report: one header per object, one line per finding", () => {
  test("findings in line order, exemptions and notices under their object, by rule, scores, summary", () => {
    expect(renderText(checkReport(), PLAIN)).toBe(
      [
        "app/web.yaml:1  Deployment shop/web",
        "  12  warn  service-account-token-automounted  pod must set automountServiceAccountToken=false",
        '  24  deny  run-as-root  container "web" must set securityContext.runAsNonRoot=true',
        "",
        "app/web.yaml:30  Deployment shop/legacy",
        "  52  exempt  run-as-root  vendor image runs as root, until 2027-01-31",
        '      notice  exemption: "run-as-rot" in tollgate.dev/exempt is no rule',
        "",
        "db.yaml:1  StatefulSet shop/db",
        "   9  warn  service-account-token-automounted  pod must set automountServiceAccountToken=false",
        '  14  warn  liveness-probe-missing             container "db" has no livenessProbe',
        "",
        "findings by rule, with the fix of each rule's first finding (--explain: every finding's own):",
        "  1 deny  run-as-root",
        '          fix: set securityContext.runAsNonRoot: true on container "web" or on the pod',
        "  2 warn  service-account-token-automounted",
        "          fix: set automountServiceAccountToken: false in the pod spec unless it calls the",
        "               Kubernetes API",
        "  1 warn  liveness-probe-missing",
        '          fix: add a livenessProbe to container "db"',
        "",
        "score by file (of the objects checked, the share with no deny finding):",
        "   50  app/web.yaml  (1 of 2)",
        "  100  1 other file",
        "",
        "4 findings (1 deny, 3 warn, 1 exempted) in 4 objects in 2 files (enforce mode), score 75",
        "",
      ].join("\n"),
    );
  });

  test("--explain shows each finding's path and fix under it, and no fix by rule", () => {
    const text = renderText(checkReport(), { ...PLAIN, explain: true });
    expect(text.split("\n").slice(0, 8)).toEqual([
      "app/web.yaml:1  Deployment shop/web",
      "  12  warn  service-account-token-automounted  pod must set automountServiceAccountToken=false",
      "              at spec.service-account-token-automounted",
      "              fix: set automountServiceAccountToken: false in the pod spec unless it calls the",
      "                Kubernetes API",
      '  24  deny  run-as-root  container "web" must set securityContext.runAsNonRoot=true',
      "              at spec.run-as-root",
      '              fix: set securityContext.runAsNonRoot: true on container "web" or on the pod',
    ]);
    expect(text).toContain(
      "findings by rule:\n  1 deny  run-as-root\n  2 warn  service-account-token-automounted\n  1 warn  liveness-probe-missing\n\n",
    );
  });

  test("a narrow terminal: rows that do not fit have their message after the rule, then wrap", () => {
    const text = renderText(checkReport(), { ...PLAIN, width: 60 });
    expect(text.split("\n").slice(0, 6)).toEqual([
      "app/web.yaml:1  Deployment shop/web",
      "  12  warn  service-account-token-automounted  pod must set",
      "              automountServiceAccountToken=false",
      '  24  deny  run-as-root  container "web" must set',
      "              securityContext.runAsNonRoot=true",
      "",
    ]);
    expect(Math.max(...text.split("\n").map((line) => line.length))).toBeLessThanOrEqual(60);
  });

  test("a word longer than a line (a field path) is cut, so no line passes the width", () => {
    const report = checkReport();
    report.objects[0]!.findings[0]!.path = `spec.${"x".repeat(120)}`;
    const text = renderText(report, { ...PLAIN, explain: true });
    expect(Math.max(...text.split("\n").map((line) => line.length))).toBe(100);
  });

  test("the width is the terminal's, else $COLUMNS, else 100", () => {
    expect(terminalWidth({ isTTY: true, columns: 132 })).toBe(132);
    expect(terminalWidth({ isTTY: false, columns: 132 })).toBe(100);
    expect(terminalWidth({ isTTY: true, columns: 0 })).toBe(100);
    expect(terminalWidth({})).toBe(100);
    expect(terminalWidth({}, { COLUMNS: "160" })).toBe(160);
    expect(terminalWidth({ isTTY: true, columns: 80 }, { COLUMNS: "160" })).toBe(80);
    expect(terminalWidth({}, { COLUMNS: "wide" })).toBe(100);
  });

  test("colour codes take no column: a painted severity lines up with a plain one", () => {
    const text = renderText(checkReport(), { ...PLAIN, color: true });
    expect(text).toContain("\n  14  \u001b[33mwarn\u001b[39m  liveness-probe-missing             container");
  });
});

describe("the score: objects checked with no deny finding, per file or namespace", () => {
  test("skipped and not-covered objects do not count; rounded down", () => {
    const report = checkReport();
    report.objects.push(object("ConfigMap", "settings", "db.yaml", 50, () => [], { rules: [] }));
    report.objects.push(object("Pod", "owned", "db.yaml", 60, () => [], { rules: [], skipped: "owned" }));
    const denied = (name: string) =>
      object("Pod", name, "many.yaml", 1, (o) => [finding(o, "run-as-root", "deny", 2, "m", "f")]);
    report.objects.push(
      denied("a"),
      object("Pod", "b", "many.yaml", 9, () => []),
      denied("c"),
    );
    expect(scoresOf(report)).toEqual({
      groups: [
        { group: "many.yaml", checked: 3, clean: 1, score: 33 },
        { group: "app/web.yaml", checked: 2, clean: 1, score: 50 },
        { group: "db.yaml", checked: 2, clean: 2, score: 100 },
      ],
      total: { group: "all", checked: 7, clean: 4, score: 57 },
    });
  });

  test("audit scores by namespace, cluster-scoped objects apart", () => {
    const report: Report = { ...auditReport(), objects: [...auditReport().objects] };
    report.objects.push({ ...object("ClusterRole", "ops", null, null, () => []), namespace: "" });
    expect(scoresOf(report).groups.map((g) => [g.group, g.score])).toEqual([
      ["legacy", 0],
      ["(cluster-scoped)", 100],
    ]);
    expect(renderText(report, PLAIN)).toContain(
      "score by namespace (of the objects checked, the share with no deny finding):\n    0  legacy  (0 of 1)\n  100  1 other namespace\n",
    );
  });
});

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
  test("an audit limited with --namespace names the namespace; no line column without a file", () => {
    expect(renderText(auditReport("legacy"), PLAIN)).toBe(
      [
        "Deployment legacy/api",
        '  deny  run-as-root  container "api" must set securityContext.runAsNonRoot=true',
        "",
        "findings by rule, with the fix of each rule's first finding (--explain: every finding's own):",
        "  1 deny  run-as-root",
        '          fix: set securityContext.runAsNonRoot: true on container "api" or on the pod',
        "",
        "1 finding (1 deny, 0 warn) in 2 objects in namespace legacy, 1 skipped (enforce mode), score 0",
        "",
      ].join("\n"),
    );
  });

  test("an audit of the whole cluster says so", () => {
    expect(summaryLine(renderText(auditReport(), PLAIN))).toBe(
      "1 finding (1 deny, 0 warn) in 2 objects in the cluster, 1 skipped (enforce mode), score 0",
    );
  });

  test("a clean namespace says no findings, in that namespace", () => {
    const clean = { ...auditReport("shop"), objects: [] };
    expect(renderText(clean, PLAIN)).toBe("no findings in 0 objects in namespace shop (enforce mode)\n");
  });

  test("only exempted findings: no findings, the exempted counted", () => {
    const report = checkReport();
    report.objects = [report.objects[1]!];
    expect(summaryLine(renderText(report, PLAIN))).toBe(
      "no findings (1 exempted) in 1 object in 2 files (enforce mode)",
    );
  });

  test("check counts files", () => {
    const checked: Report = { ...auditReport(), command: "check", files: 1, documents: 2 };
    expect(summaryLine(renderText(checked, PLAIN))).toBe(
      "1 finding (1 deny, 0 warn) in 2 objects in 1 file, 1 skipped (enforce mode), score 0",
    );
  });
});
