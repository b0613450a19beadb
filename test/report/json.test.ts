import { describe, expect, test } from "vitest";
import { jsonChunks } from "../../src/report/json.js";
import type { ReportFinding } from "../../src/report/model.js";
import { ODD_FINDINGS, reportFinding, reportOf } from "../support/findings.js";

const finding = reportFinding;
const odd = [...ODD_FINDINGS];

const CONTRACT_KEYS = [
  "rule",
  "severity",
  "kind",
  "namespace",
  "name",
  "file",
  "line",
  "path",
  "container",
  "message",
  "fix",
];

describe("the JSON report's text", () => {
  test("is exactly what JSON.stringify(report, null, 2) gives, with the contract's keys in order", () => {
    for (const command of ["check", "audit"] as const) {
      const text = [...jsonChunks(reportOf(odd, command))].join("");
      expect(text).toBe(`${JSON.stringify(JSON.parse(text), null, 2)}\n`);
      const parsed = JSON.parse(text) as {
        findings: Record<string, unknown>[];
        summary: { findings: number };
      };
      expect(parsed.findings).toEqual(odd);
      for (const f of parsed.findings) expect(Object.keys(f)).toEqual(CONTRACT_KEYS);
      expect(Object.keys(parsed)).toEqual([
        "findings",
        "errors",
        "notes",
        "summary",
        "notCovered",
        "exempted",
        "score",
        ...(command === "audit" ? ["namespaces"] : []),
      ]);
      expect(parsed.summary.findings).toBe(2);
    }
  });

  test("comes a thousand findings to a chunk, in order, and one chunk when there are none", () => {
    const many = Array.from({ length: 2500 }, (_, i) => finding({ line: i + 1 }));
    const chunks = [...jsonChunks(reportOf(many))];
    expect(chunks.map((chunk) => chunk.split('"rule"').length - 1)).toEqual([0, 1000, 1000, 500, 0]);
    const text = chunks.join("");
    expect(text).toBe(`${JSON.stringify(JSON.parse(text), null, 2)}\n`);
    expect((JSON.parse(text) as { findings: ReportFinding[] }).findings.map((f) => f.line)).toEqual(
      many.map((f) => f.line),
    );
    const none = [...jsonChunks(reportOf([]))];
    expect(none).toHaveLength(1);
    expect(none[0]).toBe(`${JSON.stringify(JSON.parse(none[0] ?? ""), null, 2)}\n`);
    expect(none[0]?.startsWith('{\n  "findings": [],\n  "errors": [')).toBe(true);
  });
});
