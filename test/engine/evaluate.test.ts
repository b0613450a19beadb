import { describe, expect, it } from "vitest";
import { verdictOf } from "../../src/admission/respond.js";
import type { EvaluationInput } from "../../src/engine/evaluate.js";
import { ADMIN, judge, rootPod } from "./helpers.js";
import type { KubeObject } from "../../src/objects/object.js";

const podSpec = { containers: [{ name: "web", image: "nginx:1.27" }] };
const template = { metadata: { labels: { app: "web" } }, spec: podSpec };

/** Every kind that carries a pod spec, with where the spec sits. */
const WORKLOADS: [string, string, Record<string, unknown>, string][] = [
  ["v1", "Pod", { spec: podSpec }, "spec"],
  ["v1", "PodTemplate", { template }, "template.spec"],
  ["v1", "ReplicationController", { spec: { template } }, "spec.template.spec"],
  ["apps/v1", "Deployment", { spec: { template } }, "spec.template.spec"],
  ["apps/v1", "StatefulSet", { spec: { template } }, "spec.template.spec"],
  ["apps/v1", "DaemonSet", { spec: { template } }, "spec.template.spec"],
  ["apps/v1", "ReplicaSet", { spec: { template } }, "spec.template.spec"],
  ["batch/v1", "Job", { spec: { template } }, "spec.template.spec"],
  [
    "batch/v1",
    "CronJob",
    { spec: { jobTemplate: { spec: { template } } } },
    "spec.jobTemplate.spec.template.spec",
  ],
];

describe("evaluate", () => {
  it.each(WORKLOADS)("judges the pod spec of a %s %s", (apiVersion, kind, body, specPath) => {
    const object = { apiVersion, kind, metadata: { name: "web", namespace: "team-a" }, ...body };
    const evaluation = judge({ object });
    const runAsRoot = evaluation.denials.find((f) => f.rule === "run-as-root");
    expect(runAsRoot).toEqual({
      rule: "run-as-root",
      severity: "deny",
      kind,
      namespace: "team-a",
      name: "web",
      path: `${specPath}.containers[name=web].securityContext.runAsNonRoot`,
      container: "web",
      message: 'container "web" must set securityContext.runAsNonRoot=true',
      fix: 'set securityContext.runAsNonRoot: true on container "web" or on the pod',
    });
  });

  it("visits init, regular and ephemeral containers", () => {
    const object: KubeObject = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "web", namespace: "team-a" },
      spec: {
        initContainers: [{ name: "init", image: "busybox:1.36", securityContext: { privileged: true } }],
        containers: [{ name: "web", image: "nginx:1.27", securityContext: { privileged: true } }],
        ephemeralContainers: [
          { name: "debug", image: "busybox:1.36", securityContext: { privileged: true } },
        ],
      },
    };
    const privileged = judge({ object, subResource: "ephemeralcontainers" }).denials.filter(
      (f) => f.rule === "privileged-container",
    );
    expect(privileged.map((f) => f.path)).toEqual([
      "spec.initContainers[name=init].securityContext.privileged",
      "spec.containers[name=web].securityContext.privileged",
      "spec.ephemeralContainers[name=debug].securityContext.privileged",
    ]);
  });

  it("skips a Pod its controller owns, whose template was checked", () => {
    const object = rootPod();
    (object.metadata as Record<string, unknown>).ownerReferences = [
      { apiVersion: "apps/v1", kind: "ReplicaSet", name: "web-7d9f", uid: "1", controller: true },
    ];
    const controller = { username: "system:serviceaccount:kube-system:replicaset-controller" };
    expect(judge({ object, userInfo: controller })).toEqual({
      findings: [],
      denials: [],
      ruleErrors: [],
      slowRules: [],
      skipped: "Pod is controlled by a ReplicaSet, whose template was checked",
      notices: [],
      exempted: [],
    });
    expect(
      judge({ object, userInfo: controller }, { skipOwnedPods: false }).denials.map((f) => f.rule),
    ).toEqual(["run-as-root"]);
  });

  it("judges a controlled Pod that anyone but a listed workload controller creates", () => {
    const object = rootPod();
    (object.metadata as Record<string, unknown>).ownerReferences = [
      { apiVersion: "apps/v1", kind: "ReplicaSet", name: "does-not-exist", uid: "x", controller: true },
    ];
    const rules = (input: Partial<EvaluationInput>, config = {}) =>
      judge({ object, ...input }, config).denials.map((f) => f.rule);
    expect(rules({})).toEqual(["run-as-root"]);
    expect(rules({ userInfo: { username: "system:masters-lookalike", groups: ["system:masters"] } })).toEqual(
      ["run-as-root"],
    );
    expect(rules({ userInfo: undefined })).toEqual(["run-as-root"]);
    // `check` reads a file a person wrote; audit judges what runs (its owner existed when it was made).
    expect(rules({ source: "check" })).toEqual(["run-as-root"]);
    expect(judge({ object, source: "audit" }).skipped).toBe(
      "Pod is controlled by a ReplicaSet, whose template was checked",
    );
    // A controller the config lists, e.g. a custom one creating Pods for its own ReplicaSets.
    expect(
      rules(
        { userInfo: { username: "system:serviceaccount:ops:pod-maker" } },
        { workloadControllers: ["system:serviceaccount:ops:pod-maker"] },
      ),
    ).toEqual([]);
  });

  it("matches the owner's API group as well as its kind", () => {
    const controller = { username: "system:kube-controller-manager" };
    const owned = (apiVersion: string, kind: string) => {
      const object = rootPod();
      (object.metadata as Record<string, unknown>).ownerReferences = [
        { apiVersion, kind, name: "x", uid: "x", controller: true },
      ];
      return judge({ object, userInfo: controller }).skipped;
    };
    expect(owned("evil.example.com/v1", "Deployment")).toBeUndefined();
    expect(owned("apps.evil/v1", "ReplicaSet")).toBeUndefined();
    expect(owned("apps/v1/x", "ReplicaSet")).toBeUndefined();
    expect(owned("batch/v1", "ReplicaSet")).toBeUndefined();
    expect(owned("core/v1", "ReplicationController")).toBeUndefined();
    expect(owned("v1", "ReplicationController")).toBe(
      "Pod is controlled by a ReplicationController, whose template was checked",
    );
    expect(owned("apps/v1", "StatefulSet")).toBe(
      "Pod is controlled by a StatefulSet, whose template was checked",
    );
    expect(owned("batch/v1", "Job")).toBe("Pod is controlled by a Job, whose template was checked");
  });

  it("judges only protected-policy-label on a status or finalize write, which keeps metadata but not spec", () => {
    const oldObject = rootPod();
    const object = rootPod({ "tollgate.dev/exempt": "run-as-root" });
    const status = judge({ object, oldObject, operation: "UPDATE", subResource: "status" });
    expect(status.findings.map((f) => [f.rule, f.path])).toEqual([
      ["protected-policy-label", "metadata.annotations[tollgate.dev/exempt]"],
    ]);
    expect(
      judge({ object: oldObject, oldObject, operation: "UPDATE", subResource: "status" }).findings,
    ).toEqual([]);
    const ns = (mode?: string) => ({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "team-a", ...(mode ? { labels: { "tollgate.dev/mode": mode } } : {}) },
    });
    for (const subResource of ["status", "finalize"]) {
      const flipped = judge({
        object: ns("off"),
        oldObject: ns("enforce"),
        operation: "UPDATE",
        subResource,
      });
      expect(flipped.denials.map((f) => [f.rule, f.path])).toEqual([
        ["protected-policy-label", "metadata.labels[tollgate.dev/mode]"],
      ]);
    }
    const byAdmin = judge({
      object: ns("off"),
      oldObject: ns("enforce"),
      operation: "UPDATE",
      subResource: "status",
      userInfo: ADMIN,
    });
    expect(byAdmin.findings).toEqual([]);
  });

  it("turns every finding into a warning in warn mode", () => {
    const evaluation = judge({ object: rootPod(), mode: "warn" });
    expect(evaluation.denials).toEqual([]);
    expect(evaluation.findings.find((f) => f.rule === "run-as-root")?.severity).toBe("warn");
    expect(verdictOf(evaluation).allowed).toBe(true);
  });

  it("lists every deny finding in the denial message", () => {
    const object = rootPod(undefined, { securityContext: { privileged: true } });
    const verdict = verdictOf(judge({ object }));
    expect(verdict.allowed).toBe(false);
    expect(verdict.message).toBe(
      [
        'tollgate: Pod "web" in namespace "team-a" has 3 violations:',
        '- privileged-container: container "web" sets securityContext.privileged=true at spec.containers[name=web].securityContext.privileged. Fix: remove securityContext.privileged from container "web"; add only the capabilities it needs',
        '- run-as-root: container "web" must set securityContext.runAsNonRoot=true at spec.containers[name=web].securityContext.runAsNonRoot. Fix: set securityContext.runAsNonRoot: true on container "web" or on the pod',
        '- privilege-escalation-allowed: container "web" must set allowPrivilegeEscalation=false at spec.containers[name=web].securityContext.allowPrivilegeEscalation. Fix: set securityContext.allowPrivilegeEscalation: false on container "web"',
      ].join("\n"),
    );
  });
});
