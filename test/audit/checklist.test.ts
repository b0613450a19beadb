import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { runChecklist } from "../../src/audit/checklist.js";
import { selectorMatches as selects } from "../../src/objects/selectors.js";
import type { ClusterSnapshot } from "../../src/audit/snapshot.js";
import { DEFAULT_CONFIG } from "../../src/config/load.js";

const pem = (name: string) => Buffer.from(readFileSync(`test/fixtures/audit/${name}`)).toString("base64");
const NOW = new Date("2027-01-10T00:00:00Z");

function run(snapshot: Partial<ClusterSnapshot>, newestMinor = 35) {
  return runChecklist(
    { objects: {}, unavailable: {}, ...snapshot },
    { now: NOW, config: DEFAULT_CONFIG, newestMinor },
  );
}

const webhook = (caBundle: string) => ({
  apiVersion: "admissionregistration.k8s.io/v1",
  kind: "ValidatingWebhookConfiguration",
  metadata: { name: "tollgate" },
  webhooks: [{ name: "enforce.tollgate.dev", clientConfig: { caBundle } }],
});

describe("cluster checklist", () => {
  test("tollgate's webhook: missing, CA expiring, or fine", () => {
    const base = { objects: { ValidatingWebhookConfiguration: [] } };
    expect(run(base).findings.map((f) => [f.rule, f.message])).toContainEqual([
      "tollgate-webhook-missing",
      "the ValidatingWebhookConfiguration tollgate does not exist: admission is not checked",
    ]);
    const expiring = run({ objects: { ValidatingWebhookConfiguration: [webhook(pem("ca-short.crt"))] } });
    expect(expiring.findings.map((f) => [f.rule, f.path])).toContainEqual([
      "tollgate-webhook-cert-expiring",
      "webhooks[0].clientConfig.caBundle",
    ]);
    const fine = run({ objects: { ValidatingWebhookConfiguration: [webhook(pem("ca-long.crt"))] } });
    expect(fine.findings.filter((f) => f.rule.startsWith("tollgate-"))).toEqual([]);
  });

  test("server version: inside the three newest minors passes, older fails, newer than known passes", () => {
    const version = (minor: string) => ({ major: "1", minor, gitVersion: `v1.${minor}.0` });
    const rules = (minor: string) => run({ version: version(minor) }).findings.map((f) => f.rule);
    expect(rules("33")).not.toContain("server-version-unsupported");
    expect(rules("32")).toContain("server-version-unsupported");
    expect(rules("40")).not.toContain("server-version-unsupported");
    expect(
      run({ version: version("32+") }).findings.find((f) => f.rule === "server-version-unsupported")?.message,
    ).toBe("the server runs Kubernetes v1.32+.0, outside the supported releases 1.33 to 1.35");
  });

  test("backups: a Velero Schedule or an etcd snapshot CronJob passes", () => {
    const velero = run({
      objects: { CronJob: [], Schedule: [{ kind: "Schedule", metadata: { name: "daily" } }] },
    });
    expect(velero.findings.map((f) => f.rule)).not.toContain("backup-schedule-missing");
    const etcd = run({
      objects: {
        CronJob: [
          { kind: "CronJob", metadata: { name: "etcd-snapshot", namespace: "kube-system" }, spec: {} },
        ],
      },
      unavailable: { Schedule: "not served" },
    });
    expect(etcd.findings.map((f) => f.rule)).not.toContain("backup-schedule-missing");
  });

  test("monitoring: a Prometheus resource or a prometheus-operator Deployment passes", () => {
    const operator = run({
      objects: {
        Deployment: [
          {
            kind: "Deployment",
            metadata: { name: "monitoring-kube-prometheus-operator", namespace: "monitoring" },
            spec: { replicas: 1 },
          },
        ],
      },
      unavailable: { Prometheus: "not served" },
    });
    expect(operator.findings.map((f) => f.rule)).not.toContain("monitoring-missing");
  });

  test("a forbidden optional CRD skips the item with a note instead of guessing", () => {
    const result = run({ objects: { Deployment: [] }, unavailable: { Prometheus: "forbidden" } });
    expect(result.findings.map((f) => f.rule)).not.toContain("monitoring-missing");
    expect(result.notes).toContain(
      "monitoring-missing: skipped, missing permission to list prometheuses (monitoring.coreos.com)",
    );
  });

  test("a skipped item names what the API refused as RBAC does, and why the rest could not be read", () => {
    const result = run({
      objects: { Pod: [], Deployment: [], StatefulSet: [], ReplicaSet: [] },
      unavailable: { Node: "forbidden", ReplicationController: "not listed", Job: "forbidden" },
    });
    expect(result.notes.filter((note) => note.startsWith("workload-on-system-nodes:"))).toEqual([
      "workload-on-system-nodes: skipped, missing permission to list nodes (core), jobs (batch); cannot read ReplicationController (not listed)",
    ]);
  });

  test("secrets readers: a grant limited by resourceNames is not listed; one with '*' is", () => {
    const role = (name: string, rule: Record<string, unknown>) => ({
      kind: "Role",
      metadata: { name, namespace: "shop" },
      rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["get"], ...rule }],
    });
    const binding = (name: string, roleName: string) => ({
      kind: "RoleBinding",
      metadata: { name, namespace: "shop" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: roleName },
      subjects: [{ kind: "ServiceAccount", name }],
    });
    const result = run({
      objects: {
        Role: [role("named", { resourceNames: ["web-tls"] }), role("any", { resourceNames: ["*"] })],
        ClusterRole: [],
        RoleBinding: [binding("web", "named"), binding("ci", "any")],
        ClusterRoleBinding: [],
      },
    });
    expect(
      result.findings.filter((f) => f.rule === "secrets-readers").map((f) => [f.kind, f.namespace, f.name]),
    ).toEqual([["ServiceAccount", "shop", "ci"]]);
  });

  test("label selectors: matchLabels and every matchExpressions operator", () => {
    const labels = { app: "web", tier: "front" };
    expect(selects({}, labels)).toBe(true);
    expect(selects(undefined, labels)).toBe(false);
    expect(selects({ matchLabels: { app: "web" } }, labels)).toBe(true);
    expect(selects({ matchLabels: { app: "api" } }, labels)).toBe(false);
    expect(
      selects({ matchExpressions: [{ key: "tier", operator: "In", values: ["front", "back"] }] }, labels),
    ).toBe(true);
    expect(
      selects({ matchExpressions: [{ key: "tier", operator: "NotIn", values: ["front"] }] }, labels),
    ).toBe(false);
    expect(selects({ matchExpressions: [{ key: "zone", operator: "Exists" }] }, labels)).toBe(false);
    expect(selects({ matchExpressions: [{ key: "zone", operator: "DoesNotExist" }] }, labels)).toBe(true);
  });
});
