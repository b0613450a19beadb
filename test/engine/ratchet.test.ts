import { describe, expect, it } from "vitest";
import { verdictOf } from "../../src/admission/respond.js";
import { applyRatchet } from "../../src/engine/ratchet.js";
import type { Finding } from "../../src/rules/types.js";
import { judge, rootPod } from "./helpers.js";
import type { KubeObject } from "../../src/objects/object.js";

function privileged(): KubeObject {
  return rootPod(undefined, { securityContext: { allowPrivilegeEscalation: false, privileged: true } });
}

describe("the ratchet", () => {
  it("turns violations the old object already had into warnings on UPDATE", () => {
    const evaluation = judge({ object: rootPod(), oldObject: rootPod(), operation: "UPDATE" });
    expect(evaluation.denials).toEqual([]);
    const runAsRoot = evaluation.findings.find((f) => f.rule === "run-as-root");
    expect(runAsRoot?.severity).toBe("warn");
    expect(runAsRoot?.ratcheted).toBe(true);
    expect(evaluation.notices).toEqual([
      "ratchet: 1 violation the object already had warn instead of deny; new ones deny",
    ]);
    const verdict = verdictOf(evaluation);
    expect(verdict.allowed).toBe(true);
    expect(verdict.warnings).toContain(
      'run-as-root: container "web" must set securityContext.runAsNonRoot=true (spec.containers[name=web])',
    );
  });

  it("denies violations the update introduces", () => {
    const evaluation = judge({ object: privileged(), oldObject: rootPod(), operation: "UPDATE" });
    expect(evaluation.denials.map((f) => f.rule)).toEqual(["privileged-container"]);
    expect(evaluation.findings.find((f) => f.rule === "run-as-root")?.severity).toBe("warn");
  });

  it("does not apply on CREATE or when switched off", () => {
    expect(judge({ object: rootPod() }).denials.map((f) => f.rule)).toEqual(["run-as-root"]);
    const off = judge({ object: rootPod(), oldObject: rootPod(), operation: "UPDATE" }, { ratchet: false });
    expect(off.denials.map((f) => f.rule)).toEqual(["run-as-root"]);
    expect(off.notices).toEqual([]);
  });

  it("asks the old object only about the rules that deny on the new one", () => {
    const finding = (rule: string, severity: "deny" | "warn"): Finding => ({
      rule,
      severity,
      kind: "Pod",
      namespace: "team",
      name: "web",
      path: "spec",
      message: `${rule} message`,
      fix: "fix it",
    });
    const asked: string[][] = [];
    const result = applyRatchet(
      [finding("run-as-root", "deny"), finding("host-port", "deny"), finding("image-tag-mutable", "warn")],
      (rules) => {
        asked.push([...rules].sort());
        return [finding("run-as-root", "deny")];
      },
      () => false,
    );
    expect(asked).toEqual([["host-port", "run-as-root"]]);
    expect(result.downgraded).toBe(1);
    expect(result.findings.map((f) => `${f.rule}:${f.severity}`)).toEqual([
      "run-as-root:warn",
      "host-port:deny",
      "image-tag-mutable:warn",
    ]);
  });

  it("does not look at the old object when nothing denies", () => {
    let asked = 0;
    const result = applyRatchet(
      [],
      () => {
        asked++;
        return [];
      },
      () => false,
    );
    expect(asked).toBe(0);
    expect(result).toEqual({ findings: [], downgraded: 0 });
  });
});
