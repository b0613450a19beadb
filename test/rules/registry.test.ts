import { readdirSync } from "node:fs";
import { basename } from "node:path";
import { describe, expect, it } from "vitest";
import { warningOf } from "../../src/admission/respond.js";
import { ALL_RULES, buildRegistry, RULES } from "../../src/rules/index.js";
import type { Rule } from "../../src/rules/types.js";
import { evaluateFixture, FIXTURES_DIR, fixturesOf, loadFixture } from "./fixtures.js";

describe("the rule registry", () => {
  it("refuses duplicate and malformed ids", () => {
    const rule = ALL_RULES[0]!;
    expect(() => buildRegistry([rule, rule])).toThrow(`rule id "${rule.id}" is registered twice`);
    expect(() => buildRegistry([{ ...rule, id: "Run_As_Root" }])).toThrow(
      'rule id "Run_As_Root" is not kebab-case',
    );
  });

  it("has a fixture folder for every rule and a rule for every fixture folder", () => {
    const folders = readdirSync(FIXTURES_DIR).sort();
    expect(folders).toEqual([...RULES.keys()].sort());
  });

  it.each(ALL_RULES.map((rule) => [rule.id, rule] as const))(
    "%s has complete metadata",
    (_id, rule: Rule) => {
      expect(rule.title.length).toBeGreaterThan(10);
      expect(rule.description.length).toBeGreaterThan(80);
      expect(rule.remediation).toMatch(/```yaml\n[\s\S]+\n```/);
      expect(rule.kinds.length).toBeGreaterThan(0);
      expect(rule.targets.length).toBeGreaterThan(0);
      const fixtures = fixturesOf(rule.id);
      expect(fixtures.fail.length, `${rule.id} needs two fail fixtures`).toBeGreaterThanOrEqual(2);
      expect(fixtures.pass.length, `${rule.id} needs a pass fixture`).toBeGreaterThanOrEqual(1);
    },
  );
});

const cases = ALL_RULES.flatMap((rule) => {
  const { pass, fail } = fixturesOf(rule.id);
  return [
    ...fail.map((file) => [rule.id, basename(file), rule, file, "fail"] as const),
    ...pass.map((file) => [rule.id, basename(file), rule, file, "pass"] as const),
  ];
});

describe("rule fixtures", () => {
  it.each(cases)("%s %s", (_id, _name, rule, file, kind) => {
    const fixture = loadFixture(file);
    const evaluation = evaluateFixture(rule, fixture);
    expect(evaluation.ruleErrors).toEqual([]);
    const findings = evaluation.findings.filter((f) => f.rule === rule.id);
    if (kind === "pass") {
      expect(fixture.expected).toEqual([]);
      expect(findings).toEqual([]);
      return;
    }
    expect(fixture.expected.length, "a fail fixture lists its expected findings").toBeGreaterThan(0);
    expect(findings.map((f) => ({ path: f.path, message: f.message }))).toEqual(fixture.expected);
    for (const finding of findings) {
      expect(finding.fix).not.toBe("");
      // Kubernetes asks for warnings under 120 characters and cuts them at 256. Rule id, message
      // and location together pass 120 only for deep paths (CronJobs, annotations); cap the rest.
      expect(warningOf(finding).length, warningOf(finding)).toBeLessThanOrEqual(160);
      if (fixture.object.kind === "Pod" && finding.container !== undefined && finding.container.length <= 3) {
        expect(warningOf(finding).length, warningOf(finding)).toBeLessThanOrEqual(120);
      }
    }
  });
});
