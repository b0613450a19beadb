import { describe, expect, it } from "vitest";
import { verdictOf } from "../../src/admission/respond.js";
import { isPolicyAdmin } from "../../src/engine/protected.js";
import { ADMIN, DEVELOPER, judge } from "./helpers.js";
import type { KubeObject } from "../../src/objects/object.js";

function namespace(mode?: string): KubeObject {
  const labels: Record<string, string> = { "pod-security.kubernetes.io/enforce": "restricted" };
  if (mode !== undefined) labels["tollgate.dev/mode"] = mode;
  return { apiVersion: "v1", kind: "Namespace", metadata: { name: "team-a", labels } };
}

const admins = {
  users: ["dave"],
  groups: ["platform"],
  serviceAccounts: ["argocd/argocd-application-controller"],
};

describe("protected-policy-label", () => {
  it("denies a mode label change by a requester outside policyAdmins, in warn mode too", () => {
    for (const mode of ["enforce", "warn"] as const) {
      const evaluation = judge({
        object: namespace("off"),
        oldObject: namespace("enforce"),
        operation: "UPDATE",
        mode,
      });
      expect(evaluation.denials).toEqual([
        {
          rule: "protected-policy-label",
          severity: "deny",
          kind: "Namespace",
          namespace: "",
          name: "team-a",
          path: "metadata.labels[tollgate.dev/mode]",
          message: '"alice" is not a policy admin: cannot change label tollgate.dev/mode',
          fix: "leave tollgate.dev/mode as it was, or ask a policy admin to change it",
        },
      ]);
      expect(verdictOf(evaluation).allowed).toBe(false);
    }
  });

  it("names a Namespace without an `in namespace` as the apiserver sends it (its own name as the request's namespace)", () => {
    const evaluation = judge({
      object: namespace("off"),
      oldObject: namespace("enforce"),
      operation: "UPDATE",
      namespace: "team-a",
    });
    expect(evaluation.denials.map((f) => f.namespace)).toEqual([""]);
    expect(verdictOf(evaluation).message).toBe(
      'tollgate: Namespace "team-a" has 1 violation:\n' +
        '- protected-policy-label: "alice" is not a policy admin: cannot change label tollgate.dev/mode at metadata.labels[tollgate.dev/mode]. ' +
        "Fix: leave tollgate.dev/mode as it was, or ask a policy admin to change it",
    );
  });

  it("denies a new namespace that sets the label, and removing it", () => {
    expect(judge({ object: namespace("warn") }).denials.map((f) => f.rule)).toEqual([
      "protected-policy-label",
    ]);
    const removed = judge({ object: namespace(), oldObject: namespace("enforce"), operation: "UPDATE" });
    expect(removed.denials.map((f) => f.rule)).toEqual(["protected-policy-label"]);
  });

  it("lets policy admins change it, and anyone leave it alone", () => {
    const change = {
      object: namespace("warn"),
      oldObject: namespace("enforce"),
      operation: "UPDATE" as const,
    };
    expect(judge({ ...change, userInfo: ADMIN }).denials).toEqual([]);
    expect(judge({ ...change, oldObject: namespace("warn") }).denials).toEqual([]);
  });

  it("is judged only in the webhook, where the requester is known", () => {
    expect(judge({ object: namespace("off"), source: "check" }).denials).toEqual([]);
    expect(judge({ object: namespace("off"), source: "audit" }).denials).toEqual([]);
  });
});

describe("isPolicyAdmin", () => {
  it.each([
    [{ username: "dave" }, true],
    [{ username: "erin", groups: ["platform"] }, true],
    [{ username: "system:serviceaccount:argocd:argocd-application-controller" }, true],
    [{ username: "system:serviceaccount:argocd:argocd-server" }, false],
    [{ username: "alice", groups: ["team-a"] }, false],
    [undefined, false],
  ])("%j → %s", (user, expected) => {
    expect(isPolicyAdmin(user, admins)).toBe(expected);
  });

  it("uses the default admins: system:masters", () => {
    expect(judge({ object: namespace("warn"), userInfo: DEVELOPER }).denials.length).toBe(1);
    expect(judge({ object: namespace("warn"), userInfo: ADMIN }).denials.length).toBe(0);
  });
});
