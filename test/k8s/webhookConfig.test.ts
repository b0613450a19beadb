import { evaluate as evaluateCel } from "@marcbachmann/cel-js";
import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG } from "../../src/config/load.js";
import type { Config } from "../../src/config/schema.js";
import {
  admissionKinds,
  buildWebhookConfiguration,
  KIND_RESOURCES,
  ownedPodCondition,
  webhookRules,
} from "../../src/k8s/webhookConfig.js";
import { ALL_RULES, RULES } from "../../src/rules/index.js";
import type { Rule } from "../../src/rules/types.js";
import { CORE_RULES } from "../support/core-rules.js";

/** The six first rules: the expected configuration stays readable and stable as the catalog grows. */
const CORE = [...CORE_RULES.values()];

const OWNED_POD_CEL =
  "request.resource.resource != 'pods' || (has(request.subResource) && request.subResource == 'ephemeralcontainers') || " +
  "!has(object.metadata.ownerReferences) || !object.metadata.ownerReferences.exists(r, has(r.controller) && " +
  "r.controller && r.kind in ['CronJob', 'DaemonSet', 'Deployment', 'Job', 'ReplicaSet', 'ReplicationController', 'StatefulSet'])";

const NAMESPACED_RULES = [
  {
    apiGroups: [""],
    apiVersions: ["v1"],
    operations: ["CREATE", "UPDATE"],
    resources: ["pods", "pods/ephemeralcontainers", "podtemplates", "replicationcontrollers"],
    scope: "Namespaced",
  },
  {
    apiGroups: ["apps"],
    apiVersions: ["v1"],
    operations: ["CREATE", "UPDATE"],
    resources: ["daemonsets", "deployments", "replicasets", "statefulsets"],
    scope: "Namespaced",
  },
  {
    apiGroups: ["batch"],
    apiVersions: ["v1"],
    operations: ["CREATE", "UPDATE"],
    resources: ["cronjobs", "jobs"],
    scope: "Namespaced",
  },
  {
    apiGroups: ["rbac.authorization.k8s.io"],
    apiVersions: ["v1"],
    operations: ["CREATE", "UPDATE"],
    resources: ["roles"],
    scope: "Namespaced",
  },
];

const CLUSTER_RULES = [
  {
    apiGroups: ["rbac.authorization.k8s.io"],
    apiVersions: ["v1"],
    operations: ["CREATE", "UPDATE"],
    resources: ["clusterroles"],
    scope: "Cluster",
  },
];

const NOT_EXCLUDED = {
  key: "kubernetes.io/metadata.name",
  operator: "NotIn",
  values: ["kube-node-lease", "kube-public", "kube-system", "tollgate"],
};

function entry(name: string, path: string, namespaceSelector: object, extra: object) {
  return {
    name,
    admissionReviewVersions: ["v1"],
    clientConfig: { service: { namespace: "tollgate", name: "tollgate", port: 443, path }, caBundle: "Q0E=" },
    failurePolicy: "Fail",
    matchPolicy: "Equivalent",
    namespaceSelector,
    ...extra,
    sideEffects: "None",
    timeoutSeconds: 3,
  };
}

describe("buildWebhookConfiguration", () => {
  it("builds one entry per mode, a default entry and a cluster-scoped entry for the shipped rules", () => {
    const built = buildWebhookConfiguration(DEFAULT_CONFIG, { caBundle: "CA", rules: CORE });
    const owned = [{ name: "not-an-owned-pod", expression: OWNED_POD_CEL }];
    expect(built).toEqual({
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingWebhookConfiguration",
      metadata: { name: "tollgate", labels: { "app.kubernetes.io/name": "tollgate" } },
      webhooks: [
        entry(
          "enforce.tollgate.dev",
          "/validate/enforce",
          {
            matchExpressions: [
              { key: "tollgate.dev/mode", operator: "In", values: ["enforce"] },
              NOT_EXCLUDED,
            ],
          },
          { matchConditions: owned, rules: NAMESPACED_RULES },
        ),
        entry(
          "warn.tollgate.dev",
          "/validate/warn",
          {
            matchExpressions: [{ key: "tollgate.dev/mode", operator: "In", values: ["warn"] }, NOT_EXCLUDED],
          },
          { matchConditions: owned, rules: NAMESPACED_RULES },
        ),
        entry(
          "default.tollgate.dev",
          "/validate",
          {
            matchExpressions: [
              { key: "tollgate.dev/mode", operator: "NotIn", values: ["enforce", "off", "warn"] },
              NOT_EXCLUDED,
            ],
          },
          { matchConditions: owned, rules: NAMESPACED_RULES },
        ),
        entry(
          "cluster.tollgate.dev",
          "/validate",
          { matchExpressions: [NOT_EXCLUDED] },
          { rules: CLUSTER_RULES },
        ),
      ],
    });
  });

  it("points every entry at a URL with the mode's path when given one, and omits caBundle when absent", () => {
    const built = buildWebhookConfiguration(DEFAULT_CONFIG, {
      clientConfig: { url: "https://127.0.0.1:9443/" },
      rules: CORE,
    });
    expect(built.webhooks?.map((webhook) => webhook.clientConfig)).toEqual([
      { url: "https://127.0.0.1:9443/validate/enforce" },
      { url: "https://127.0.0.1:9443/validate/warn" },
      { url: "https://127.0.0.1:9443/validate" },
      { url: "https://127.0.0.1:9443/validate" },
    ]);
  });

  it("takes name, namespace, service, port, failurePolicy, timeout and exclusions from the config", () => {
    const config: Config = {
      ...DEFAULT_CONFIG,
      excludedNamespaces: ["kube-system", "istio-system"],
      skipOwnedPods: false,
      webhook: {
        name: "tg",
        namespace: "policy",
        service: "tg-svc",
        port: 8443,
        failurePolicy: "Ignore",
        timeoutSeconds: 5,
      },
    };
    const built = buildWebhookConfiguration(config, { rules: CORE });
    expect(built.metadata?.name).toBe("tg");
    const first = built.webhooks![0]!;
    expect(first.clientConfig).toEqual({
      service: { namespace: "policy", name: "tg-svc", port: 8443, path: "/validate/enforce" },
    });
    expect(first.failurePolicy).toBe("Ignore");
    expect(first.timeoutSeconds).toBe(5);
    expect(first.matchConditions).toBeUndefined();
    expect(first.namespaceSelector?.matchExpressions?.[1]).toEqual({
      key: "kubernetes.io/metadata.name",
      operator: "NotIn",
      values: ["istio-system", "kube-system", "policy"],
    });
  });

  it("sends Namespace objects to the cluster entry without a mode selector, so relabelling to off is checked", () => {
    const namespaceRule = { ...ALL_RULES[0]!, id: "namespace-rule", kinds: ["Namespace"] } as Rule;
    const built = buildWebhookConfiguration(DEFAULT_CONFIG, { rules: [namespaceRule] });
    expect(built.webhooks).toHaveLength(1);
    expect(built.webhooks![0]!.name).toBe("cluster.tollgate.dev");
    expect(built.webhooks![0]!.namespaceSelector).toEqual({ matchExpressions: [NOT_EXCLUDED] });
    expect(built.webhooks![0]!.rules).toEqual([
      {
        apiGroups: [""],
        apiVersions: ["v1"],
        operations: ["CREATE", "UPDATE"],
        resources: ["namespaces"],
        scope: "Cluster",
      },
    ]);
  });

  it("leaves out the kinds of rules that never run at admission", () => {
    const checkOnly = { ...ALL_RULES[0]!, id: "check-only", kinds: ["Secret"], sources: ["check"] } as Rule;
    expect(admissionKinds([checkOnly, RULES.get("rbac-wildcard")!])).toEqual(["ClusterRole", "Role"]);
  });

  it("throws, naming the table to extend, for a kind it does not know", () => {
    expect(() => webhookRules(["Gadget"], "Namespaced")).toThrow(
      'no API resource is known for kind "Gadget": add it to KIND_RESOURCES in src/k8s/webhookConfig.ts',
    );
  });

  it("knows the API resource of every kind every shipped rule names", () => {
    const unknown = ALL_RULES.flatMap((rule) => rule.kinds).filter((kind) => !(kind in KIND_RESOURCES));
    expect(unknown).toEqual([]);
    expect(() => buildWebhookConfiguration(DEFAULT_CONFIG)).not.toThrow();
  });

  it("keeps ephemeral containers and non-Pod resources out of the owned-Pod skip", () => {
    expect(ownedPodCondition().expression).toBe(OWNED_POD_CEL);
  });
});

describe("ownedPodCondition, evaluated as CEL on requests shaped like the apiserver's", () => {
  // The apiserver drops empty fields from the AdmissionRequest (no `subResource` on a plain Pod
  // CREATE), and CEL fails on a missing key: an error fails the request under failurePolicy Fail.
  const podRequest = (subResource?: string) => ({
    uid: "1",
    kind: { group: "", version: "v1", kind: "Pod" },
    resource: { group: "", version: "v1", resource: "pods" },
    ...(subResource ? { subResource } : {}),
    operation: subResource ? "UPDATE" : "CREATE",
  });
  const owner = (kind: string, controller?: boolean) => ({
    apiVersion: "apps/v1",
    kind,
    name: "web-5d4f",
    uid: "6b1f2a4e-3c5d-4e7f-8a9b-0c1d2e3f4a5b",
    ...(controller === undefined ? {} : { controller }),
  });
  const pod = (ownerReferences?: object[]) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "web", ...(ownerReferences ? { ownerReferences } : {}) },
    spec: { containers: [{ name: "web", image: "web:1" }] },
  });
  const sent = (request: object, object: object): unknown =>
    evaluateCel(ownedPodCondition().expression, { request, object });

  it("skips a Pod whose controller is a workload kind, with no subResource in the request", () => {
    expect(sent(podRequest(), pod([owner("ReplicaSet", true)]))).toBe(false);
    expect(sent(podRequest(), pod([owner("Job", true)]))).toBe(false);
  });

  it("sends Pods without a workload controller", () => {
    expect(sent(podRequest(), pod())).toBe(true);
    expect(sent(podRequest(), pod([owner("ReplicaSet")]))).toBe(true);
    expect(sent(podRequest(), pod([owner("ReplicaSet", false)]))).toBe(true);
    expect(sent(podRequest(), pod([owner("Cluster", true)]))).toBe(true);
  });

  it("sends ephemeral containers of an owned Pod, and every other resource", () => {
    expect(sent(podRequest("ephemeralcontainers"), pod([owner("ReplicaSet", true)]))).toBe(true);
    const deployment = {
      ...podRequest(),
      kind: { group: "apps", version: "v1", kind: "Deployment" },
      resource: { group: "apps", version: "v1", resource: "deployments" },
    };
    expect(sent(deployment, { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web" } })).toBe(
      true,
    );
  });
});
