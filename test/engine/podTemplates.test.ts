import { describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/config/load.js";
import type { ConfigInput } from "../../src/config/schema.js";
import { compilePolicy } from "../../src/engine/policy.js";
import { extractTargets } from "../../src/engine/targets.js";
import { vapRequestOf } from "../../src/engine/prepare.js";
import { refOf } from "../../src/objects/object.js";
import { templateKinds } from "../../src/objects/kinds.js";
import type { KubeObject } from "../../src/objects/object.js";
import { rulesFor } from "../../src/report/judge.js";
import type { ClusterFacts, Finding } from "../../src/rules/types.js";
import { ADMIN, DEVELOPER, judge, rootPod } from "./helpers.js";

const ROLLOUTS: ConfigInput = {
  podTemplates: [{ group: "argoproj.io", kind: "Rollout", path: "spec.template" }],
};

/** The pod spec of `rootPod()` (only run-as-root denies), as a template. */
function template(annotations?: Record<string, string>) {
  const pod = rootPod(annotations);
  return { metadata: { labels: { app: "web" }, ...(pod.metadata as object) }, spec: pod.spec };
}

function rollout(extra: Record<string, unknown> = {}, annotations?: Record<string, string>): KubeObject {
  return {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Rollout",
    metadata: { name: "web", namespace: "team-a", ...(annotations ? { annotations } : {}) },
    spec: { replicas: 3, strategy: { canary: {} }, template: template(), ...extra },
  };
}

function deployment(): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "team-a" },
    spec: { replicas: 3, template: template() },
  };
}

/** A finding without what names the object's kind, to compare a Rollout's with a Deployment's. */
function unkinded(findings: readonly Finding[]) {
  return findings.map(({ kind: _kind, ...rest }) => rest);
}

describe("extractTargets with podTemplates", () => {
  const templates = templateKinds(resolveConfig(ROLLOUTS).podTemplates);

  it("makes the template's pod spec a target, as a Deployment's, with the path into the custom resource", () => {
    const object = rollout();
    expect(extractTargets(object, "", templates)).toEqual([
      {
        type: "podSpec",
        object: {
          apiVersion: "argoproj.io/v1alpha1",
          kind: "Rollout",
          namespace: "team-a",
          name: "web",
        },
        podMeta: template().metadata,
        spec: template().spec,
        specPath: "spec.template.spec",
        workloadKind: "Rollout",
        runsToCompletion: false,
        replicas: 3,
      },
    ]);
    expect(extractTargets(object, "", templates)).toEqual(
      extractTargets(deployment(), "", templates).map((target) => ({
        ...target,
        object: { ...target.object, apiVersion: "argoproj.io/v1alpha1", kind: "Rollout" },
        workloadKind: "Rollout",
      })),
    );
  });

  it("gives no target without the config, for another group, or where the path holds no pod spec", () => {
    expect(extractTargets(rollout())).toEqual([]);
    expect(extractTargets({ ...rollout(), apiVersion: "evil.example.com/v1" }, "", templates)).toEqual([]);
    expect(extractTargets(rollout({ template: { spec: "containers" } }), "", templates)).toEqual([]);
    expect(extractTargets(rollout({ template: undefined }), "", templates)).toEqual([]);
    expect(extractTargets(rollout({ template: [] }), "", templates)).toEqual([]);
  });

  it("takes replicas and running to completion from the kind it is like", () => {
    const like = (kind: "DaemonSet" | "Job" | "CronJob", path = "spec.template") =>
      templateKinds(
        resolveConfig({ podTemplates: [{ group: "argoproj.io", kind: "Rollout", path, like: kind }] })
          .podTemplates,
      );
    const [daemon] = extractTargets(rollout(), "", like("DaemonSet"));
    expect(daemon).toMatchObject({ replicas: undefined, runsToCompletion: false });
    const [job] = extractTargets(rollout(), "", like("Job"));
    expect(job).toMatchObject({ replicas: undefined, runsToCompletion: true });
    // A deeper path, as a CronJob's: spec.jobTemplate.spec.template.
    const nested = rollout({ template: undefined, jobTemplate: { spec: { template: template() } } });
    const [cron] = extractTargets(nested, "", like("CronJob", "spec.jobTemplate.spec.template"));
    expect(cron).toMatchObject({ specPath: "spec.jobTemplate.spec.template.spec", runsToCompletion: true });
    // Without spec.replicas, one replica, as the apiserver defaults a Deployment's.
    const [single] = extractTargets(rollout({ replicas: undefined }), "", templates);
    expect(single).toMatchObject({ replicas: 1 });
  });
});

describe("evaluate with podTemplates", () => {
  it("finds in a Rollout exactly what it finds in a Deployment with the same template", () => {
    const fromRollout = judge({ object: rollout() }, ROLLOUTS);
    const fromDeployment = judge({ object: deployment() }, ROLLOUTS);
    expect(fromRollout.denials.map((f) => `${f.rule} ${f.path}`)).toEqual([
      "run-as-root spec.template.spec.containers[name=web].securityContext.runAsNonRoot",
    ]);
    expect(fromRollout.findings.every((f) => f.kind === "Rollout")).toBe(true);
    expect(unkinded(fromRollout.findings)).toEqual(unkinded(fromDeployment.findings));
    expect(fromRollout.findings.map((f) => `${f.rule} ${f.severity}`)).toEqual([
      "run-as-root deny",
      "capabilities-not-dropped warn",
      "seccomp-profile-missing warn",
      "writable-root-filesystem warn",
      "default-service-account warn",
      "service-account-token-automounted warn",
      "liveness-probe-missing warn",
      "readiness-probe-missing warn",
    ]);
    expect(judge({ object: rollout() }).findings).toEqual([]);
  });

  it("honours exemption annotations on the custom resource, and guards them with protected-policy-label", () => {
    const annotations = {
      "tollgate.dev/exempt": "run-as-root",
      "tollgate.dev/exempt-reason": "vendor image runs as root; ticket OPS-12",
      "tollgate.dev/exempt-until": "2026-07-01",
    };
    const byAdmin = judge({ object: rollout({}, annotations), userInfo: ADMIN }, ROLLOUTS);
    expect(byAdmin.denials).toEqual([]);
    expect(byAdmin.exempted.map((f) => [f.rule, f.kind, f.exemption?.source])).toEqual([
      ["run-as-root", "Rollout", "annotation"],
    ]);
    const byDeveloper = judge({ object: rollout({}, annotations), userInfo: DEVELOPER }, ROLLOUTS);
    expect(byDeveloper.denials.map((f) => `${f.rule} ${f.path}`)).toEqual([
      "run-as-root spec.template.spec.containers[name=web].securityContext.runAsNonRoot",
      "protected-policy-label metadata.annotations[tollgate.dev/exempt]",
      "protected-policy-label metadata.annotations[tollgate.dev/exempt-reason]",
      "protected-policy-label metadata.annotations[tollgate.dev/exempt-until]",
    ]);
  });

  it("honours config exemptions by kind Rollout", () => {
    const config: ConfigInput = {
      ...ROLLOUTS,
      exemptions: [{ kind: "Rollout", rules: ["run-as-root"], reason: "legacy", until: "2026-12-31" }],
    };
    const evaluation = judge({ object: rollout() }, config);
    expect(evaluation.denials).toEqual([]);
    expect(evaluation.exempted.map((f) => [f.rule, f.exemption?.source])).toEqual([
      ["run-as-root", "config"],
    ]);
    expect(judge({ object: deployment() }, config).denials.map((f) => f.rule)).toEqual(["run-as-root"]);
  });

  it("ratchets on UPDATE: a violation the old Rollout had warns, a new one denies", () => {
    const kept = judge({ object: rollout(), oldObject: rollout(), operation: "UPDATE" }, ROLLOUTS);
    expect(kept.denials).toEqual([]);
    expect(kept.findings.filter((f) => f.ratcheted).map((f) => `${f.rule} ${f.severity}`)).toEqual([
      "run-as-root warn",
    ]);
    const privileged = rollout();
    const spec = (privileged.spec as { template: { spec: { containers: Record<string, unknown>[] } } })
      .template.spec;
    spec.containers[0] = { ...spec.containers[0], securityContext: { privileged: true } };
    const added = judge({ object: privileged, oldObject: rollout(), operation: "UPDATE" }, ROLLOUTS);
    expect(added.denials.map((f) => f.rule)).toEqual([
      "privileged-container",
      "privilege-escalation-allowed",
    ]);
  });

  it("warns pdb-missing for a Rollout like a Deployment with 3 replicas, not one like a DaemonSet", () => {
    const facts: ClusterFacts = { hasDefaultDenyIngress: () => true, pdbSelects: () => false };
    const pdb = (config: ConfigInput) =>
      judge({ object: rollout(), facts }, config).findings.filter((f) => f.rule === "pdb-missing");
    expect(pdb(ROLLOUTS).map((f) => [f.path, f.message])).toEqual([
      ["spec.template.metadata.labels", "no PodDisruptionBudget selects the 3 replicas' pods"],
    ]);
    const daemon = {
      podTemplates: [
        { group: "argoproj.io", kind: "Rollout", path: "spec.template", like: "DaemonSet" as const },
      ],
    };
    expect(pdb(daemon)).toEqual([]);
  });

  it("lists the rules of the kind it is like as the rules that checked it", () => {
    const policy = compilePolicy(resolveConfig(ROLLOUTS));
    expect(rulesFor(rollout(), policy, "check")).toEqual(rulesFor(deployment(), policy, "check"));
    expect(rulesFor(rollout(), policy, "check")).toContain("liveness-probe-missing");
    const asJob = compilePolicy(
      resolveConfig({
        podTemplates: [{ group: "argoproj.io", kind: "Rollout", path: "spec.template", like: "Job" }],
      }),
    );
    const job = {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "j" },
      spec: { template: template() },
    };
    expect(rulesFor(rollout(), asJob, "check")).toEqual(rulesFor(job, asJob, "check"));
    expect(rulesFor(rollout(), asJob, "check")).not.toContain("liveness-probe-missing");
    expect(rulesFor(rollout(), compilePolicy(resolveConfig({})), "check")).toEqual([]);
  });

  it("describes a configured custom resource to policies by the resource the config names", () => {
    const service: KubeObject = {
      apiVersion: "serving.knative.dev/v1",
      kind: "Service",
      metadata: { name: "hello", namespace: "team-a" },
      spec: { template: template() },
    };
    const templates = templateKinds(
      resolveConfig({
        podTemplates: [
          { group: "serving.knative.dev", kind: "Service", path: "spec.template", resource: "ksvc" },
        ],
      }).podTemplates,
    );
    const input = {
      object: service,
      operation: "CREATE" as const,
      mode: "enforce" as const,
      source: "check" as const,
    };
    expect(vapRequestOf(input, refOf(service), templates).attributes.resource).toEqual({
      group: "serving.knative.dev",
      version: "v1",
      resource: "ksvc",
    });
    expect(vapRequestOf(input, refOf(service)).attributes.resource.resource).toBe("services");
  });
});
