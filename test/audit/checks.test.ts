import { readdirSync } from "node:fs";
import { basename } from "node:path";
import { describe, expect, it } from "vitest";
import { ALL_CHECKS, CHECKS } from "../../src/audit/checks/index.js";
import type { Check } from "../../src/audit/checks/types.js";
import { objectLabel } from "../../src/report/model.js";
import { buildRegistry, RULES } from "../../src/rules/index.js";
import { CHECK_FIXTURES_DIR, checkFixturesOf, loadCheckFixture, runCheckFixture } from "./fixtures.js";

describe("the checklist's registry", () => {
  it("refuses duplicate and malformed ids", () => {
    const check = ALL_CHECKS[0]!;
    expect(() => buildRegistry([check, check], "check")).toThrow(
      `check id "${check.id}" is registered twice`,
    );
    expect(() => buildRegistry([{ ...check, id: "Cluster_Admin" }], "check")).toThrow(
      'check id "Cluster_Admin" is not kebab-case',
    );
  });

  it("shares no id with a rule, so that a finding's id names one of them", () => {
    expect([...CHECKS.keys()].filter((id) => RULES.has(id))).toEqual([]);
  });

  it("has a fixture folder for every check and a check for every fixture folder", () => {
    expect(readdirSync(CHECK_FIXTURES_DIR).sort()).toEqual([...CHECKS.keys()].sort());
  });

  it.each(ALL_CHECKS.map((check) => [check.id, check] as const))(
    "%s has complete metadata and fixtures for its branches",
    (_id, check: Check) => {
      expect(check.title.length).toBeGreaterThan(10);
      expect(check.description.length).toBeGreaterThan(80);
      expect(check.remediation.length).toBeGreaterThan(20);
      expect(check.category).toBe("cluster");
      expect(check.sources).toEqual(["audit"]);
      const reads = check.needs.length + (check.optional?.length ?? 0) + (check.readsVersion ? 1 : 0);
      expect(reads).toBeGreaterThan(0);
      if (check.coveredBy !== undefined) expect(RULES.has(check.coveredBy), check.coveredBy).toBe(true);

      const { pass, fail } = checkFixturesOf(check.id);
      expect(fail.length, `${check.id} needs two fail fixtures`).toBeGreaterThanOrEqual(2);
      expect(pass.length, `${check.id} needs a pass fixture`).toBeGreaterThanOrEqual(1);
      const fixtures = [...pass, ...fail].map(loadCheckFixture);
      // An optional CRD is two branches: not installed (itself the answer) and installed.
      for (const kind of check.optional ?? []) {
        expect(
          fixtures.some((f) => f.snapshot.unavailable[kind] === "not served"),
          `${check.id} needs a fixture where ${kind} is not served`,
        ).toBe(true);
        expect(
          fixtures.some((f) => (f.snapshot.objects[kind] ?? []).length > 0),
          `${check.id} needs a fixture with a ${kind}`,
        ).toBe(true);
      }
      if (check.readsVersion) {
        expect(
          fixtures.some((f) => f.snapshot.version === undefined),
          `${check.id} needs a fixture without a server version`,
        ).toBe(true);
      }
    },
  );
});

const cases = ALL_CHECKS.flatMap((check) => {
  const { pass, fail } = checkFixturesOf(check.id);
  return [
    ...fail.map((file) => [check.id, basename(file), check, file, "fail"] as const),
    ...pass.map((file) => [check.id, basename(file), check, file, "pass"] as const),
  ];
});

describe("check fixtures", () => {
  it.each(cases)("%s %s", (_id, _name, check, file, kind) => {
    const fixture = loadCheckFixture(file);
    const result = runCheckFixture(check, fixture);
    expect(result.notes).toEqual(fixture.notes);
    const found = result.findings.map((f) => `${objectLabel(f)} | ${f.path} | ${f.message}`);
    if (kind === "pass") {
      expect(fixture.expected).toEqual([]);
      expect(found).toEqual([]);
      return;
    }
    expect(fixture.expected.length, "a fail fixture lists its expected findings").toBeGreaterThan(0);
    expect(found).toEqual(fixture.expected);
    for (const finding of result.findings) {
      expect(finding.rule).toBe(check.id);
      expect(finding.severity).toBe(check.defaultSeverity);
      expect(finding.fix).not.toBe("");
    }
  });
});
