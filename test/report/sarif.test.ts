import { readFileSync } from "node:fs";
import { Ajv } from "ajv";
import addFormatsModule from "ajv-formats";
import { describe, expect, test } from "vitest";
import { runCheck } from "../../src/cli/check.js";
import type { Report, ReportFinding } from "../../src/report/model.js";
import { auditDescriptors } from "../../src/audit/report.js";
import { describeRule } from "../../src/report/model.js";
import { RULES_DOC_URL, sarifChunks, securitySeverityOf } from "../../src/report/sarif.js";
import { RULES } from "../../src/rules/index.js";
import { captureIO } from "../cli/helpers.js";
import { ODD_FINDINGS, reportFinding, reportOf } from "../support/findings.js";

const schema = JSON.parse(readFileSync("test/fixtures/sarif/sarif-schema-2.1.0.json", "utf8")) as object;
// ajv-formats ships CommonJS; its default export arrives wrapped under NodeNext.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
const validate = ajv.compile(schema);

interface SarifLog {
  runs: {
    tool: { driver: { name: string; rules: { id: string; defaultConfiguration: { level: string } }[] } };
    invocations: {
      executionSuccessful: boolean;
      toolExecutionNotifications: { message: { text: string } }[];
    }[];
    results: {
      ruleId: string;
      ruleIndex: number;
      level: string;
      message: { text: string };
      locations: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }[];
    }[];
  }[];
}

function renderSarif(...args: Parameters<typeof sarifChunks>): string {
  return [...sarifChunks(...args)].join("");
}

async function sarifOf(args: string[]) {
  const captured = captureIO();
  const code = await runCheck([...args, "--output", "sarif"], captured.io);
  return { code, log: JSON.parse(captured.stdout()) as SarifLog };
}

describe("SARIF output", () => {
  test("is valid SARIF 2.1.0, with results, rule metadata and lines", async () => {
    const { code, log } = await sarifOf(["test/fixtures/check/tree"]);
    expect(code).toBe(1);
    expect(validate(log), JSON.stringify(validate.errors)).toBe(true);
    const run = log.runs[0]!;
    expect(run.tool.driver.name).toBe("tollgate");
    expect(run.tool.driver.rules.map((r) => r.id)).toContain("run-as-root");
    const result = run.results.find((r) => r.ruleId === "rbac-wildcard")!;
    expect(run.tool.driver.rules[result.ruleIndex]!.id).toBe("rbac-wildcard");
    expect(result.level).toBe("error");
    expect(result.locations[0]!.physicalLocation).toEqual({
      artifactLocation: { uri: "test/fixtures/check/tree/rbac.json" },
      region: { startLine: 16 },
    });
    expect(result.message.text).toBe(
      'ClusterRole/everything: rule 1 grants "*" in verbs. Fix: list the verbs the subject needs instead of "*" in rules[1]',
    );
  });

  test("each rule has a security-severity for code scanning, help text and a link to its section", async () => {
    const { log } = await sarifOf(["test/fixtures/check/tree"]);
    const rules = log.runs[0]!.tool.driver.rules as unknown as {
      id: string;
      help: { text: string; markdown: string };
      helpUri: string;
      properties: { tags: string[]; "security-severity": string };
    }[];
    const byId = new Map(rules.map((rule) => [rule.id, rule]));
    const severities = Object.fromEntries(
      [
        "rbac-wildcard",
        "run-as-root",
        "container-limits-missing",
        "secret-in-env-literal",
        "liveness-probe-missing",
        "image-registry-untrusted",
      ].map((id) => [id, byId.get(id)!.properties["security-severity"]]),
    );
    expect(severities).toEqual({
      "rbac-wildcard": "8.0",
      "run-as-root": "8.0",
      "container-limits-missing": "7.5",
      "secret-in-env-literal": "5.0",
      "liveness-probe-missing": "4.0",
      "image-registry-untrusted": "3.0",
    });
    const runAsRoot = byId.get("run-as-root")!;
    expect(runAsRoot.properties.tags).toContain("security");
    expect(runAsRoot.helpUri).toBe(`${RULES_DOC_URL}#run-as-root`);
    const rule = RULES.get("run-as-root")!;
    expect(runAsRoot.help).toEqual({
      text: `${rule.description}\n\nFix: ${rule.remediation}`,
      markdown: `${rule.description}\n\n**Fix**\n\n${rule.remediation}`,
    });
  });

  test("every helpUri's anchor is a section of docs/rules.md, rules and checklist items alike", () => {
    const anchors = new Set(
      readFileSync("docs/rules.md", "utf8")
        .split("\n")
        .filter((line) => line.startsWith("## "))
        .map((line) => line.slice(3).trim()),
    );
    const ids = [...[...RULES.values()].map(describeRule), ...auditDescriptors()].map((d) => d.id);
    expect(ids.filter((id) => !anchors.has(id))).toEqual([]);
  });

  test("security-severity: deny is high, warn medium, off low; a checklist item ranks as a rule", () => {
    const of = (
      category: Parameters<typeof securitySeverityOf>[0]["category"],
      defaultSeverity: "deny" | "warn" | "off",
    ) =>
      securitySeverityOf({
        id: "x",
        title: "x",
        category,
        defaultSeverity,
        description: "",
        remediation: "",
      });
    expect([of("security", "deny"), of("rbac", "deny"), of("policy", "deny"), of("cluster", "deny")]).toEqual(
      ["8.0", "8.0", "7.5", "7.5"],
    );
    expect([
      of("identity", "warn"),
      of("health", "warn"),
      of("cluster", "warn"),
      of("scheduling", "off"),
    ]).toEqual(["5.0", "4.0", "4.0", "3.0"]);
  });

  test("an audit result, which has no file, is located at its object", () => {
    const finding: ReportFinding = {
      rule: "secrets-readers",
      severity: "warn",
      kind: "ServiceAccount",
      namespace: "legacy",
      name: "ci",
      file: null,
      line: null,
      path: "",
      container: null,
      message: "ServiceAccount legacy/ci can read Secrets",
      fix: "review the grant",
    };
    const report: Report = {
      command: "audit",
      mode: "enforce",
      objects: [
        {
          kind: "ServiceAccount",
          namespace: "legacy",
          name: "ci",
          file: null,
          line: null,
          rules: ["secrets-readers"],
          findings: [finding],
        },
      ],
      errors: [],
      notes: [],
      files: 0,
      documents: 1,
    };
    const log = JSON.parse(renderSarif(report, auditDescriptors(), "1.0.0")) as SarifLog;
    expect(validate(log), JSON.stringify(validate.errors)).toBe(true);
    expect(log.runs[0]!.results[0]!.locations).toEqual([
      {
        logicalLocations: [
          {
            name: "ServiceAccount/legacy/ci",
            fullyQualifiedName: "ServiceAccount/legacy/ci",
            kind: "resource",
          },
        ],
      },
    ]);
  });

  test("input errors become tool execution notifications, and the log stays valid", async () => {
    const { code, log } = await sarifOf(["test/fixtures/check/broken"]);
    expect(code).toBe(2);
    expect(validate(log), JSON.stringify(validate.errors)).toBe(true);
    const invocation = log.runs[0]!.invocations[0]!;
    expect(invocation.executionSuccessful).toBe(false);
    expect(invocation.toolExecutionNotifications.map((n) => n.message.text)).toEqual([
      "invalid YAML: bad indentation of a mapping entry",
      "the document has no kind, so no rule can check it",
      "the document is a list, not a Kubernetes object (a mapping with apiVersion and kind)",
    ]);
  });

  test("the validator rejects a broken log, so the tests above can fail", () => {
    const log = JSON.parse(
      renderSarif(
        { command: "check", mode: "enforce", objects: [], errors: [], notes: [], files: 0, documents: 0 },
        [],
        "1.0.0",
      ),
    ) as Record<string, unknown>;
    expect(validate(log)).toBe(true);
    expect(validate({ ...log, version: "2.0.0" })).toBe(false);
  });

  test("absolute paths become file URIs, relative ones stay relative", () => {
    const report = {
      command: "check" as const,
      mode: "enforce" as const,
      objects: [
        {
          kind: "Pod",
          namespace: "a",
          name: "p",
          file: "/abs/dir name/p.yaml",
          line: 1,
          rules: ["x"],
          findings: [
            {
              rule: "x",
              severity: "warn" as const,
              kind: "Pod",
              namespace: "a",
              name: "p",
              file: "/abs/dir name/p.yaml",
              line: 3,
              path: "spec",
              container: null,
              message: "m",
              fix: "f",
            },
          ],
        },
      ],
      errors: [],
      notes: [],
      files: 1,
      documents: 1,
    };
    const log = JSON.parse(renderSarif(report, [], "1.0.0")) as SarifLog;
    expect(validate(log)).toBe(true);
    expect(log.runs[0]!.results[0]!.locations[0]!.physicalLocation.artifactLocation.uri).toBe(
      "file:///abs/dir%20name/p.yaml",
    );
  });

  describe("the results, written as text", () => {
    const rules = [
      {
        id: "known",
        title: "Known",
        category: "security" as const,
        defaultSeverity: "deny" as const,
        description: "d",
        remediation: "r",
      },
    ];
    const finding = reportFinding;
    const odd = [...ODD_FINDINGS, finding({ file: "/abs/dir name/c.yaml", line: null })];

    test("are exactly what JSON.stringify(log, null, 2) gives, whatever the finding holds", () => {
      const text = renderSarif(reportOf(odd), rules, "1.0.0");
      expect(text).toBe(`${JSON.stringify(JSON.parse(text), null, 2)}\n`);
      const results = (JSON.parse(text) as { runs: { results: unknown[] }[] }).runs[0]!.results;
      expect(results[1]).toEqual({
        ruleId: "unlisted",
        level: "warning",
        message: {
          text: 'Pod/we"ird\\name: line one\nline two \u00e9 \u2028 \ud800 </script>. Fix: tab\there',
        },
        locations: [
          {
            logicalLocations: [
              { name: 'Pod/we"ird\\name', fullyQualifiedName: 'Pod/we"ird\\name', kind: "resource" },
            ],
          },
        ],
        partialFingerprints: { "tollgate/v1": 'unlisted|Pod/we"ird\\name|' },
        properties: { container: null, path: "" },
      });
      expect(results[2]).toMatchObject({
        ruleIndex: 0,
        locations: [
          {
            physicalLocation: {
              artifactLocation: { uri: "file:///abs/dir%20name/c.yaml" },
              region: { startLine: 1 },
            },
          },
        ],
      });
    });

    test("come a thousand to a chunk, in order, and join into one valid log", () => {
      const many = Array.from({ length: 2500 }, (_, i) => finding({ line: i + 1 }));
      const chunks = [...sarifChunks(reportOf(many), rules, "1.0.0")];
      // The head, three chunks of results, the tail.
      expect(chunks.map((chunk) => chunk.split('"ruleId"').length - 1)).toEqual([0, 1000, 1000, 500, 0]);
      const text = chunks.join("");
      expect(text).toBe(`${JSON.stringify(JSON.parse(text), null, 2)}\n`);
      const log = JSON.parse(text) as SarifLog;
      expect(validate(log), JSON.stringify(validate.errors)).toBe(true);
      const lines = log.runs[0]!.results.map((r) => r.locations[0]!.physicalLocation.region.startLine);
      expect(lines).toEqual(many.map((f) => f.line));
    });
  });
});
