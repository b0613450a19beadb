import { readFileSync } from "node:fs";
import { Ajv } from "ajv";
import addFormatsModule from "ajv-formats";
import { describe, expect, test } from "vitest";
import { runCheck } from "../../src/cli/check.js";
import { renderSarif } from "../../src/report/sarif.js";
import { captureIO } from "../cli/helpers.js";

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
});
