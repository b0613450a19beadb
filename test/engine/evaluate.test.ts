import { describe, expect, it } from "vitest";
import { verdictOf } from "../../src/admission/respond.js";
import type { KubeObject } from "../../src/engine/targets.js";
import { judge, rootPod } from "./helpers.js";

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
    expect(judge({ object })).toEqual({
      findings: [],
      denials: [],
      ruleErrors: [],
      slowRules: [],
      skipped: "Pod is controlled by a ReplicaSet, whose template was checked",
      notices: [],
      exempted: [],
    });
    expect(judge({ object }, { skipOwnedPods: false }).denials.map((f) => f.rule)).toEqual(["run-as-root"]);
  });

  it("turns every finding into a warning in warn mode", () => {
    const evaluation = judge({ object: rootPod(), mode: "warn" });
    expect(evaluation.denials).toEqual([]);
    expect(evaluation.findings.find((f) => f.rule === "run-as-root")?.severity).toBe("warn");
    expect(verdictOf(evaluation, "allow", false).allowed).toBe(true);
  });

  it("lists every deny finding in the denial message", () => {
    const object = rootPod(undefined, { securityContext: { privileged: true } });
    const verdict = verdictOf(judge({ object }), "allow", true);
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
