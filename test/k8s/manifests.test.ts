import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type {
  V1ClusterRole,
  V1ConfigMap,
  V1Deployment,
  V1Role,
  V1ValidatingWebhookConfiguration,
} from "@kubernetes/client-node";
import { describe, expect, it, vi } from "vitest";
import { loadAll } from "js-yaml";
import { DEFAULT_CONFIG, parseConfig } from "../../src/config/load.js";
import { evaluate } from "../../src/engine/evaluate.js";
import { compilePolicy } from "../../src/engine/policy.js";
import { DEFAULT_IMAGE, installBase, installManifests, installYaml } from "../../src/k8s/manifests.js";
import { RULES } from "../../src/rules/index.js";
import type { KubeObject } from "../../src/objects/object.js";

/** Warnings the install accepts on purpose, and why. Anything else is a defect in the manifests. */
const ACCEPTED_WARNINGS: Record<string, string> = {
  "rbac-secrets-access": "tollgate reads its own certificate Secret: get, limited by resourceNames",
};

const SHIPPED = new URL("../../manifests/", import.meta.url);
const read = (file: string) => readFileSync(new URL(file, SHIPPED), "utf8");

interface Kustomization {
  resources: string[];
  configMapGenerator: { name: string; namespace: string; files: string[] }[];
}

/** The objects of the shipped base's resources, in the kustomization's order. */
function shippedObjects(): KubeObject[] {
  const kustomization = loadAll(read("kustomization.yaml"))[0] as Kustomization;
  return kustomization.resources.flatMap((file) =>
    (loadAll(read(file)) as (KubeObject | null)[]).filter((object): object is KubeObject => object !== null),
  );
}

function find<T>(kind: string, name?: string): T {
  const object = installManifests().find(
    (o) => o.kind === kind && (name === undefined || o.metadata?.name === name),
  );
  if (!object) throw new Error(`no ${kind} ${name ?? ""}`);
  return object as T;
}

describe("manifests/, the kustomize base", () => {
  it("is what `tollgate manifests --output-dir` writes, file for file (run `npm run manifests` after changing the builder)", () => {
    const built = installBase();
    expect(readdirSync(SHIPPED).sort()).toEqual(built.map((file) => file.path).sort());
    for (const file of built) expect(read(file.path), file.path).toBe(file.content);
  });

  it("generates the ConfigMap from tollgate.yaml, and lists every other object once", () => {
    const kustomization = loadAll(read("kustomization.yaml"))[0] as Kustomization;
    expect(kustomization.configMapGenerator).toEqual([
      {
        name: "tollgate-config",
        namespace: "tollgate",
        files: ["config.yaml=tollgate.yaml"],
        options: { labels: { "app.kubernetes.io/name": "tollgate" } },
      },
      // Empty: an overlay merges its policy files into it.
      {
        name: "tollgate-policies",
        namespace: "tollgate",
        options: { labels: { "app.kubernetes.io/name": "tollgate" } },
      },
    ]);
    const others = readdirSync(SHIPPED).filter((f) => f !== "kustomization.yaml" && f !== "tollgate.yaml");
    expect([...kustomization.resources].sort()).toEqual(others.sort());
    // The stream `tollgate manifests` prints holds the same objects, the ConfigMap inline.
    expect(shippedObjects()).toEqual(installManifests().filter((o) => o.kind !== "ConfigMap"));
    const volumes = find<V1Deployment>("Deployment").spec!.template.spec!.volumes!;
    expect(volumes.find((v) => v.name === "config")?.configMap?.name).toBe("tollgate-config");
    expect(volumes.find((v) => v.name === "policies")?.configMap?.name).toBe("tollgate-policies");
  });

  it("passes tollgate's own rules in enforce mode with no deny finding", () => {
    // The install namespace is excluded from admission; judge it here as `tollgate check` would.
    const policy = compilePolicy({ ...DEFAULT_CONFIG, excludedNamespaces: [] });
    const objects = shippedObjects();
    expect(objects.map((o) => o.kind)).toEqual([
      "CustomResourceDefinition",
      "CustomResourceDefinition",
      "Namespace",
      "ServiceAccount",
      "Secret",
      "Role",
      "RoleBinding",
      "ClusterRole",
      "ClusterRoleBinding",
      "Service",
      "Deployment",
      "PodDisruptionBudget",
      "NetworkPolicy",
      "NetworkPolicy",
      "ValidatingWebhookConfiguration",
    ]);
    const findings = objects.flatMap((object) => {
      const result = evaluate({ object, operation: "CREATE", mode: "enforce", source: "check" }, policy);
      expect(result.skipped).toBeUndefined();
      expect(result.ruleErrors).toEqual([]);
      return result.findings;
    });
    expect(findings.filter((f) => f.severity === "deny")).toEqual([]);
    const unexplained = findings.filter((f) => !(f.rule in ACCEPTED_WARNINGS));
    expect(unexplained).toEqual([]);
  });

  it("ships a config that tollgate accepts, naming its own namespace, in warn mode, registering fail-closed", () => {
    const configMap = find<V1ConfigMap>("ConfigMap");
    const shipped = read("tollgate.yaml");
    // The base's file is the stream's ConfigMap, with comments that say how to replace it.
    expect(shipped.replace(/^#.*\n/gm, "")).toBe(configMap.data!["config.yaml"]);
    const config = parseConfig(shipped, "tollgate.yaml", new Set(RULES.keys()));
    expect(config.webhook).toEqual({ ...DEFAULT_CONFIG.webhook, namespace: "tollgate" });
    expect(config.webhook.failurePolicy).toBe("Fail");
    expect(config.defaultMode).toBe("warn");
    expect(config.excludedNamespaces).toEqual(["kube-system", "kube-node-lease", "kube-public", "tollgate"]);
  });

  it("ships a webhook configuration that blocks nothing while tollgate is not running", () => {
    const webhook = find<V1ValidatingWebhookConfiguration>("ValidatingWebhookConfiguration");
    const entries = webhook.webhooks!;
    expect(entries.map((e) => e.name)).toEqual([
      "enforce.tollgate.dev",
      "warn.tollgate.dev",
      "default.tollgate.dev",
      "cluster.tollgate.dev",
      "namespaces.tollgate.dev",
    ]);
    for (const entry of entries) {
      expect(entry.failurePolicy).toBe("Ignore");
      expect(entry.clientConfig.caBundle).toBeUndefined();
      // Secrets never reach tollgate: Helm releases and cert-manager renewals never wait on it.
      expect(entry.rules!.flatMap((rule) => rule.resources)).not.toContain("secrets");
      // The system namespaces and tollgate's own are left out of every entry.
      expect(entry.namespaceSelector!.matchExpressions).toContainEqual({
        key: "kubernetes.io/metadata.name",
        operator: "NotIn",
        values: ["kube-node-lease", "kube-public", "kube-system", "tollgate"],
      });
    }
  });

  it("grants only what tollgate uses: its own Secret, Lease and webhook configuration by name, lists and watches but no Secrets, its reports", () => {
    expect(find<V1Role>("Role").rules).toEqual([
      {
        apiGroups: [""],
        resources: ["secrets"],
        resourceNames: ["tollgate-certs"],
        verbs: ["get", "update"],
      },
      { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
      {
        apiGroups: ["coordination.k8s.io"],
        resources: ["leases"],
        resourceNames: ["tollgate-audit"],
        verbs: ["get", "update"],
      },
    ]);
    expect(find<V1ClusterRole>("ClusterRole").rules).toEqual([
      {
        apiGroups: ["admissionregistration.k8s.io"],
        resources: ["validatingwebhookconfigurations"],
        resourceNames: ["tollgate"],
        verbs: ["get", "patch"],
      },
      {
        apiGroups: [""],
        resources: [
          "limitranges",
          "namespaces",
          "nodes",
          "pods",
          "podtemplates",
          "replicationcontrollers",
          "resourcequotas",
          "serviceaccounts",
        ],
        verbs: ["list", "watch"],
      },
      {
        apiGroups: ["apps"],
        resources: ["daemonsets", "deployments", "replicasets", "statefulsets"],
        verbs: ["list", "watch"],
      },
      { apiGroups: ["batch"], resources: ["cronjobs", "jobs"], verbs: ["list", "watch"] },
      { apiGroups: ["networking.k8s.io"], resources: ["networkpolicies"], verbs: ["list", "watch"] },
      { apiGroups: ["policy"], resources: ["poddisruptionbudgets"], verbs: ["list", "watch"] },
      {
        apiGroups: ["rbac.authorization.k8s.io"],
        resources: ["clusterrolebindings", "clusterroles", "rolebindings", "roles"],
        verbs: ["list", "watch"],
      },
      {
        apiGroups: ["admissionregistration.k8s.io"],
        resources: ["validatingwebhookconfigurations"],
        verbs: ["list", "watch"],
      },
      { apiGroups: ["velero.io"], resources: ["schedules"], verbs: ["list", "watch"] },
      {
        apiGroups: ["monitoring.coreos.com"],
        resources: ["prometheuses", "prometheusrules"],
        verbs: ["list", "watch"],
      },
      { apiGroups: ["karpenter.sh"], resources: ["nodepools"], verbs: ["list", "watch"] },
      { apiGroups: ["cert-manager.io"], resources: ["certificates"], verbs: ["list", "watch"] },
      {
        apiGroups: ["wgpolicyk8s.io"],
        resources: ["policyreports", "clusterpolicyreports"],
        verbs: ["list", "create", "patch"],
      },
    ]);
    // Nothing reads a Secret but tollgate's own: the scanner leaves them out.
    const rules = find<V1ClusterRole>("ClusterRole").rules!;
    expect(rules.filter((rule) => rule.resources!.includes("secrets"))).toEqual([]);
  });

  it("runs two non-root, read-only replicas with probes, a preStop delay and bootstrap", () => {
    const deployment = find<V1Deployment>("Deployment");
    const pod = deployment.spec!.template.spec!;
    const container = pod.containers[0]!;
    expect(deployment.spec!.replicas).toBe(2);
    expect(pod.priorityClassName).toBe("system-cluster-critical");
    expect(pod.securityContext?.runAsNonRoot).toBe(true);
    expect(container.securityContext?.readOnlyRootFilesystem).toBe(true);
    expect(container.livenessProbe?.httpGet?.path).toBe("/healthz");
    expect(container.readinessProbe?.httpGet?.path).toBe("/readyz");
    expect(container.lifecycle?.preStop?.sleep?.seconds).toBe(5);
    expect(container.args).toEqual([
      "--config",
      "/etc/tollgate/config.yaml",
      "--bootstrap",
      "--port",
      "8443",
      "--metrics-port",
      "9090",
    ]);
    expect(pod.topologySpreadConstraints?.map((c) => c.topologyKey)).toEqual([
      "kubernetes.io/hostname",
      "topology.kubernetes.io/zone",
    ]);
  });

  it("moves every namespaced object, the exclusion and the webhook's Service to --namespace, with --image", () => {
    const yaml = installYaml({ namespace: "policy", image: "registry.example/tollgate:1.2.3" });
    expect(yaml).not.toContain("namespace: tollgate");
    expect(yaml).toContain("image: registry.example/tollgate:1.2.3");
    const objects = installManifests({ namespace: "policy" });
    for (const object of objects) {
      if (object.metadata?.namespace !== undefined) expect(object.metadata.namespace).toBe("policy");
    }
    expect(objects.find((o) => o.kind === "Namespace")?.metadata?.name).toBe("policy");
  });

  it("tags the default image with the package version", () => {
    const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      version: string;
    };
    expect(DEFAULT_IMAGE).toBe(`ghcr.io/tollgate-dev/tollgate:${version}`);
  });
});

describe("tollgate manifests", () => {
  it("--output-dir writes the base with --namespace, and says how to apply it", async () => {
    const { manifests } = await import("../../src/cli/manifests.js");
    const dir = mkdtempSync(join(tmpdir(), "tollgate-base-"));
    let out = "";
    const stdout = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    });
    try {
      expect(await manifests(["--output-dir", join(dir, "base"), "--namespace", "policy"])).toBe(0);
      stdout.mockRestore();
      expect(out).toBe(`wrote 17 files to ${join(dir, "base")}: kubectl apply -k ${join(dir, "base")}\n`);
      const built = installBase({ namespace: "policy" });
      expect(readdirSync(join(dir, "base")).sort()).toEqual(built.map((f) => f.path).sort());
      const kustomization = readFileSync(join(dir, "base", "kustomization.yaml"), "utf8");
      expect(kustomization).toContain("    namespace: policy\n");
      expect(readFileSync(join(dir, "base", "namespace-policy.yaml"), "utf8")).toContain("  name: policy\n");
    } finally {
      stdout.mockRestore();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a namespace that Kubernetes would refuse", async () => {
    const { manifests } = await import("../../src/cli/manifests.js");
    await expect(manifests(["--namespace", "Policy_NS"])).rejects.toThrow(
      "--namespace \"Policy_NS\" is not a valid namespace name (lower-case letters, digits and '-', at most 63)",
    );
  });
});
