import { describe, expect, it } from "vitest";
import { verdictOf } from "../../src/admission/respond.js";
import { dayStart } from "../../src/engine/exemptions.js";
import { ADMIN, DEVELOPER, judge, rootPod } from "./helpers.js";

const VALID = {
  "tollgate.dev/exempt": "run-as-root",
  "tollgate.dev/exempt-reason": "vendor image runs as root; ticket OPS-12",
  "tollgate.dev/exempt-until": "2026-07-01",
};

function without(key: string): Record<string, string> {
  const copy: Record<string, string> = { ...VALID };
  delete copy[key];
  return copy;
}

describe("annotation exemptions", () => {
  it("exempt the named rules when valid and set by a policy admin", () => {
    const evaluation = judge({ object: rootPod(VALID), userInfo: ADMIN });
    expect(evaluation.denials).toEqual([]);
    expect(evaluation.notices).toEqual([]);
    expect(evaluation.exempted?.map((f) => [f.rule, f.exemption])).toEqual([
      [
        "run-as-root",
        { source: "annotation", reason: "vendor image runs as root; ticket OPS-12", until: "2026-07-01" },
      ],
    ]);
    expect(evaluation.findings.some((f) => f.rule === "run-as-root")).toBe(false);
  });

  it("report an exempted finding at the severity the mode gives it: warn in warn mode", () => {
    const warn = judge({ object: rootPod(VALID), userInfo: ADMIN, mode: "warn" });
    expect(warn.exempted.map((f) => [f.rule, f.severity])).toEqual([["run-as-root", "warn"]]);
    const enforce = judge({ object: rootPod(VALID), userInfo: ADMIN });
    expect(enforce.exempted.map((f) => [f.rule, f.severity])).toEqual([["run-as-root", "deny"]]);
  });

  it("stay in force on UPDATE by anyone when unchanged from the old object", () => {
    const evaluation = judge({
      object: rootPod(VALID),
      oldObject: rootPod(VALID),
      operation: "UPDATE",
      userInfo: DEVELOPER,
    });
    expect(evaluation.denials).toEqual([]);
    expect(evaluation.exempted?.map((f) => f.rule)).toEqual(["run-as-root"]);
  });

  it.each([
    [
      "without a reason",
      without("tollgate.dev/exempt-reason"),
      "exemption ignored: tollgate.dev/exempt-reason is missing",
    ],
    [
      "without an expiry",
      without("tollgate.dev/exempt-until"),
      "exemption ignored: tollgate.dev/exempt-until is missing",
    ],
    [
      "with an expiry that is no date",
      { ...VALID, "tollgate.dev/exempt-until": "2026-02-30" },
      'exemption ignored: tollgate.dev/exempt-until "2026-02-30" is not a date (YYYY-MM-DD)',
    ],
    [
      "expired",
      { ...VALID, "tollgate.dev/exempt-until": "2026-05-31" },
      "exemption ignored: tollgate.dev/exempt-until 2026-05-31 has passed",
    ],
    [
      "beyond maxExemptionDays",
      { ...VALID, "tollgate.dev/exempt-until": "2026-12-31" },
      "exemption ignored: tollgate.dev/exempt-until 2026-12-31 is more than 90 days ahead (maxExemptionDays)",
    ],
  ])("are ignored %s, and a warning says why", (_case, annotations, notice) => {
    const evaluation = judge({ object: rootPod(annotations), userInfo: ADMIN });
    expect(evaluation.denials.map((f) => f.rule)).toEqual(["run-as-root"]);
    expect(evaluation.exempted).toEqual([]);
    expect(evaluation.notices).toEqual([notice]);
    expect(verdictOf(evaluation).warnings).toContain(notice);
  });

  it("hold through their last day and end after it", () => {
    const lastDay = { ...VALID, "tollgate.dev/exempt-until": "2026-06-01" };
    expect(judge({ object: rootPod(lastDay), userInfo: ADMIN }).denials).toEqual([]);
    const nextMorning = new Date("2026-06-02T00:00:00Z");
    expect(judge({ object: rootPod(lastDay), userInfo: ADMIN, now: nextMorning }).notices).toEqual([
      "exemption ignored: tollgate.dev/exempt-until 2026-06-01 has passed",
    ]);
  });

  it("are ignored when set by a requester outside policyAdmins, who is denied as well", () => {
    const evaluation = judge({ object: rootPod(VALID), userInfo: DEVELOPER });
    expect(evaluation.notices).toEqual(['exemption ignored: set by "alice", who is not in policyAdmins']);
    expect(evaluation.denials.map((f) => `${f.rule} ${f.path}`)).toEqual([
      "run-as-root spec.containers[name=web].securityContext.runAsNonRoot",
      "protected-policy-label metadata.annotations[tollgate.dev/exempt]",
      "protected-policy-label metadata.annotations[tollgate.dev/exempt-reason]",
      "protected-policy-label metadata.annotations[tollgate.dev/exempt-until]",
    ]);
  });

  it("name unknown rules and never exempt protected-policy-label", () => {
    const annotations = {
      ...VALID,
      "tollgate.dev/exempt": "run-as-root, no-such-rule,protected-policy-label",
    };
    const evaluation = judge({ object: rootPod(annotations), userInfo: ADMIN });
    expect(evaluation.notices).toEqual([
      'exemption: "no-such-rule" in tollgate.dev/exempt is no rule',
      "exemption: protected-policy-label cannot be exempted",
    ]);
    expect(evaluation.exempted?.map((f) => f.rule)).toEqual(["run-as-root"]);
  });

  it("are honoured by tollgate check, where no requester is known", () => {
    const evaluation = judge({ object: rootPod(VALID), source: "check", userInfo: undefined });
    expect(evaluation.denials).toEqual([]);
    expect(evaluation.exempted?.map((f) => f.rule)).toEqual(["run-as-root"]);
  });
});

describe("config exemptions", () => {
  const exemption = {
    namespace: "team-a",
    name: "w?b*",
    rules: ["run-as-root"],
    reason: "legacy",
    until: "2026-07-01",
  };

  it("match namespace, name glob and rules", () => {
    const evaluation = judge({ object: rootPod() }, { exemptions: [exemption] });
    expect(evaluation.denials).toEqual([]);
    expect(evaluation.exempted?.map((f) => [f.rule, f.exemption?.source])).toEqual([
      ["run-as-root", "config"],
    ]);
    expect(
      judge({ object: rootPod() }, { exemptions: [{ ...exemption, name: "api-*" }] }).denials.length,
    ).toBe(1);
    expect(
      judge({ object: rootPod() }, { exemptions: [{ ...exemption, namespace: "team-b" }] }).denials.length,
    ).toBe(1);
  });

  it("match a container, for sidecars", () => {
    const sidecar = { ...exemption, name: undefined, container: "istio-proxy", rules: ["*"] };
    expect(judge({ object: rootPod() }, { exemptions: [sidecar] }).denials.map((f) => f.container)).toEqual([
      "web",
    ]);
    const web = { ...sidecar, container: "web" };
    expect(judge({ object: rootPod() }, { exemptions: [web] }).denials).toEqual([]);
  });

  it("are ignored once expired, and a warning says so", () => {
    const evaluation = judge({ object: rootPod() }, { exemptions: [{ ...exemption, until: "2026-05-01" }] });
    expect(evaluation.denials.map((f) => f.rule)).toEqual(["run-as-root"]);
    expect(evaluation.notices).toEqual([
      "exemption ignored: config exemption for namespace team-a, name w?b* expired on 2026-05-01",
    ]);
  });

  it("are ignored when their date does not exist", () => {
    const evaluation = judge({ object: rootPod() }, { exemptions: [{ ...exemption, until: "2026-13-01" }] });
    expect(evaluation.notices).toEqual([
      'exemption ignored: config exemption for namespace team-a, name w?b* has an invalid until "2026-13-01"',
    ]);
  });
});

describe("dayStart", () => {
  it("reads real dates only", () => {
    expect(dayStart("2026-01-31")).toBe(Date.UTC(2026, 0, 31));
    expect(dayStart("2026-02-29")).toBeUndefined();
    expect(dayStart("31/01/2026")).toBeUndefined();
  });
});

describe("exemptions about to end", () => {
  // NOW is 2026-06-01T12:00Z: an exemption until 2026-06-07 holds through that day, 6 days on.
  it("an annotation exemption that ends within 14 days still exempts, and says when it ends", () => {
    const soon = { ...VALID, "tollgate.dev/exempt-until": "2026-06-07" };
    const evaluation = judge({ object: rootPod(soon), userInfo: ADMIN });
    expect(evaluation.denials).toEqual([]);
    expect(evaluation.exempted.map((f) => f.rule)).toEqual(["run-as-root"]);
    expect(evaluation.notices).toEqual([
      "exemption ends in 6 days: run-as-root exempted until 2026-06-07; fix the object or renew it",
    ]);
    // In the admission response, the notice is a warning of its own.
    expect(verdictOf(evaluation).warnings).toContain(evaluation.notices[0]);
  });

  it("a config exemption whose last day is at most 14 days ahead is named; one further off is not", () => {
    const config = (until: string) => ({
      exemptions: [{ namespace: "team-a", rules: ["run-as-root"], reason: "legacy", until }],
    });
    expect(judge({ object: rootPod() }, config("2026-06-14")).notices).toEqual([
      "exemption ends in 13 days: run-as-root exempted until 2026-06-14 by config exemption for namespace team-a; fix the object or renew it",
    ]);
    expect(judge({ object: rootPod() }, config("2026-06-15")).notices).toEqual([
      "exemption ends in 14 days: run-as-root exempted until 2026-06-15 by config exemption for namespace team-a; fix the object or renew it",
    ]);
    expect(judge({ object: rootPod() }, config("2026-06-16")).notices).toEqual([]);
  });
});
