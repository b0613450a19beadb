import { evaluate as evaluateCel } from "@marcbachmann/cel-js";
import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG, resolveConfig } from "../../src/config/load.js";
import type { Config } from "../../src/config/schema.js";
import {
  admissionKinds,
  buildWebhookConfiguration,
  namespacePolicyCondition,
  namespaceWritesCondition,
  ownedPodCondition,
  podTemplateWebhookRules,
  policyMetadataCondition,
  webhookRules,
} from "../../src/k8s/webhookConfig.js";
import { ALL_RULES, RULES } from "../../src/rules/index.js";
import type { Rule } from "../../src/rules/types.js";
import { CORE_RULES } from "../support/core-rules.js";
import { KINDS } from "../../src/objects/kinds.js";

/** The six first rules: the expected configuration stays readable and stable as the catalog grows. */
const CORE = [...CORE_RULES.values()];

const OWNED_POD_CEL =
  "request.resource.resource != 'pods' || (has(request.subResource) && request.subResource != '') || " +
  "(!has(request.userInfo.username) || !(request.userInfo.username in ['system:kube-controller-manager', " +
  "'system:serviceaccount:kube-system:daemon-set-controller', 'system:serviceaccount:kube-system:job-controller', " +
  "'system:serviceaccount:kube-system:replicaset-controller', 'system:serviceaccount:kube-system:replication-controller', " +
  "'system:serviceaccount:kube-system:statefulset-controller'])) || " +
  "!has(object.metadata.ownerReferences) || (!object.metadata.ownerReferences.exists(r, has(r.controller) && " +
  "r.controller && ((r.kind == 'CronJob' && r.apiVersion.startsWith('batch/')) || " +
  "(r.kind == 'DaemonSet' && r.apiVersion.startsWith('apps/')) || (r.kind == 'Deployment' && r.apiVersion.startsWith('apps/')) || " +
  "(r.kind == 'Job' && r.apiVersion.startsWith('batch/')) || (r.kind == 'ReplicaSet' && r.apiVersion.startsWith('apps/')) || " +
  "(r.kind == 'ReplicationController' && r.apiVersion == 'v1') || (r.kind == 'StatefulSet' && r.apiVersion.startsWith('apps/')))))";

const NAMESPACED_RULES = [
  {
    apiGroups: [""],
    apiVersions: ["v1"],
    operations: ["CREATE", "UPDATE"],
    resources: [
      "pods",
      "pods/ephemeralcontainers",
      "pods/status",
      "podtemplates",
      "replicationcontrollers",
      "replicationcontrollers/status",
    ],
    scope: "Namespaced",
  },
  {
    apiGroups: ["apps"],
    apiVersions: ["v1"],
    operations: ["CREATE", "UPDATE"],
    resources: [
      "daemonsets",
      "daemonsets/status",
      "deployments",
      "deployments/status",
      "replicasets",
      "replicasets/status",
      "statefulsets",
      "statefulsets/status",
    ],
    scope: "Namespaced",
  },
  {
    apiGroups: ["batch"],
    apiVersions: ["v1"],
    operations: ["CREATE", "UPDATE"],
    resources: ["cronjobs", "cronjobs/status", "jobs", "jobs/status"],
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
    const metadata = policyMetadataCondition();
    const owned = [{ name: "not-an-owned-pod", expression: OWNED_POD_CEL }, metadata];
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
          { matchConditions: [metadata], rules: CLUSTER_RULES },
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
    expect(first.matchConditions).toEqual([policyMetadataCondition()]);
    expect(first.namespaceSelector?.matchExpressions?.[1]).toEqual({
      key: "kubernetes.io/metadata.name",
      operator: "NotIn",
      values: ["istio-system", "kube-system", "policy"],
    });
  });

  it("sends Namespace writes that touch policy metadata to the fail-closed cluster entry, the rest to a fail-open one", () => {
    const namespaceRule = { ...ALL_RULES[0]!, id: "namespace-rule", kinds: ["Namespace"] } as Rule;
    const built = buildWebhookConfiguration(DEFAULT_CONFIG, { rules: [namespaceRule] });
    const [cluster, namespaces] = built.webhooks!;
    expect(built.webhooks).toHaveLength(2);
    expect(cluster!.name).toBe("cluster.tollgate.dev");
    // No mode selector: a request that sets the label to off is still judged.
    expect(cluster!.namespaceSelector).toEqual({ matchExpressions: [NOT_EXCLUDED] });
    expect(cluster!.failurePolicy).toBe("Fail");
    expect(cluster!.matchConditions).toEqual([policyMetadataCondition(), namespacePolicyCondition()]);
    expect(cluster!.rules).toEqual([
      {
        apiGroups: [""],
        apiVersions: ["v1"],
        operations: ["CREATE", "UPDATE"],
        resources: ["namespaces", "namespaces/finalize", "namespaces/status"],
        scope: "Cluster",
      },
    ]);
    expect(namespaces).toEqual({
      name: "namespaces.tollgate.dev",
      admissionReviewVersions: ["v1"],
      clientConfig: { service: { namespace: "tollgate", name: "tollgate", port: 443, path: "/validate" } },
      failurePolicy: "Ignore",
      matchPolicy: "Equivalent",
      namespaceSelector: { matchExpressions: [NOT_EXCLUDED] },
      matchConditions: [namespaceWritesCondition()],
      rules: [
        {
          apiGroups: [""],
          apiVersions: ["v1"],
          operations: ["CREATE", "UPDATE"],
          resources: ["namespaces"],
          scope: "Cluster",
        },
      ],
      sideEffects: "None",
      timeoutSeconds: 3,
    });
  });

  it("adds the config's pod-template resources to the namespaced entries: one rule per group, every version", () => {
    const config = resolveConfig({
      podTemplates: [
        { group: "argoproj.io", kind: "Rollout", path: "spec.template" },
        { group: "apps.kruise.io", kind: "CloneSet", path: "spec.template" },
        { group: "apps.kruise.io", kind: "StatefulSet", path: "spec.template", like: "StatefulSet" },
        { group: "serving.knative.dev", kind: "Service", path: "spec.template", resource: "services" },
      ],
    });
    const configMaps = {
      apiGroups: [""],
      apiVersions: ["v1"],
      operations: ["CREATE"],
      resources: ["configmaps"],
      scope: "Namespaced" as const,
    };
    const built = buildWebhookConfiguration(config, { rules: CORE, policyRules: [configMaps] });
    const templates = [
      {
        apiGroups: ["apps.kruise.io"],
        apiVersions: ["*"],
        operations: ["CREATE", "UPDATE"],
        resources: ["clonesets", "statefulsets"],
        scope: "Namespaced",
      },
      {
        apiGroups: ["argoproj.io"],
        apiVersions: ["*"],
        operations: ["CREATE", "UPDATE"],
        resources: ["rollouts"],
        scope: "Namespaced",
      },
      {
        apiGroups: ["serving.knative.dev"],
        apiVersions: ["*"],
        operations: ["CREATE", "UPDATE"],
        resources: ["services"],
        scope: "Namespaced",
      },
    ];
    // After the built-in kinds, before what policies select; the cluster entry is left alone.
    expect(built.webhooks!.map((webhook) => [webhook.name, webhook.rules])).toEqual([
      ["enforce.tollgate.dev", [...NAMESPACED_RULES, ...templates, configMaps]],
      ["warn.tollgate.dev", [...NAMESPACED_RULES, ...templates, configMaps]],
      ["default.tollgate.dev", [...NAMESPACED_RULES, ...templates, configMaps]],
      ["cluster.tollgate.dev", CLUSTER_RULES],
    ]);
    expect(podTemplateWebhookRules(config.podTemplates)).toEqual(templates);
    // serve's registration passes the templates of the config served now, which replace the config's.
    const reloaded = buildWebhookConfiguration(config, { rules: CORE, podTemplates: [] });
    expect(reloaded.webhooks![0]!.rules).toEqual(NAMESPACED_RULES);
    const widened = buildWebhookConfiguration(DEFAULT_CONFIG, {
      rules: CORE,
      podTemplates: config.podTemplates,
    });
    expect(widened.webhooks![0]!.rules).toEqual([...NAMESPACED_RULES, ...templates]);
  });

  it("leaves out the kinds of rules that never run at admission", () => {
    const checkOnly = { ...ALL_RULES[0]!, id: "check-only", kinds: ["Secret"], sources: ["check"] } as Rule;
    expect(admissionKinds([checkOnly, RULES.get("rbac-wildcard")!])).toEqual(["ClusterRole", "Role"]);
  });

  it("throws, naming the table to extend, for a kind it does not know", () => {
    expect(() => webhookRules(["Gadget"], "Namespaced")).toThrow(
      'no API resource is known for kind "Gadget": add it to KINDS in src/objects/kinds.ts',
    );
  });

  it("knows the API resource of every kind every shipped rule names", () => {
    const unknown = ALL_RULES.flatMap((rule) => rule.kinds).filter((kind) => !(kind in KINDS));
    expect(unknown).toEqual([]);
    expect(() => buildWebhookConfiguration(DEFAULT_CONFIG)).not.toThrow();
  });

  it("keeps ephemeral containers and non-Pod resources out of the owned-Pod skip", () => {
    expect(ownedPodCondition(DEFAULT_CONFIG.workloadControllers).expression).toBe(OWNED_POD_CEL);
  });
});

const CONTROLLER = "system:serviceaccount:kube-system:replicaset-controller";

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
    evaluateCel(ownedPodCondition(DEFAULT_CONFIG.workloadControllers).expression, {
      request: { userInfo: { username: CONTROLLER }, ...request },
      object,
    });

  it("sends an owned Pod that anyone but a workload controller creates", () => {
    const asUser = (username?: string) => ({ ...podRequest(), userInfo: username ? { username } : {} });
    expect(sent(asUser("alice"), pod([owner("ReplicaSet", true)]))).toBe(true);
    expect(sent(asUser(), pod([owner("ReplicaSet", true)]))).toBe(true);
    expect(
      sent(asUser("system:serviceaccount:team-a:replicaset-controller"), pod([owner("ReplicaSet", true)])),
    ).toBe(true);
  });

  it("sends an owned Pod whose owner is not in the workload's API group", () => {
    expect(
      sent(podRequest(), pod([{ ...owner("ReplicaSet", true), apiVersion: "evil.example.com/v1" }])),
    ).toBe(true);
    expect(sent(podRequest(), pod([{ ...owner("Deployment", true), apiVersion: "apps.evil/v1" }]))).toBe(
      true,
    );
    expect(
      sent(podRequest(), pod([{ ...owner("ReplicationController", true), apiVersion: "evil/v1" }])),
    ).toBe(true);
    expect(sent(podRequest(), pod([{ ...owner("ReplicationController", true), apiVersion: "v1" }]))).toBe(
      false,
    );
  });

  it("skips a Pod whose controller is a workload kind, with no subResource in the request", () => {
    expect(sent(podRequest(), pod([owner("ReplicaSet", true)]))).toBe(false);
    expect(sent(podRequest(), pod([{ ...owner("Job", true), apiVersion: "batch/v1" }]))).toBe(false);
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

describe("policyMetadataCondition, evaluated as CEL on requests shaped like the apiserver's", () => {
  const request = (subResource?: string) => ({
    uid: "1",
    resource: { group: "", version: "v1", resource: "namespaces" },
    ...(subResource ? { subResource } : {}),
    operation: "UPDATE",
  });
  const ns = (labels?: Record<string, string>, annotations?: Record<string, string>) => ({
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "team-a", ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}) },
  });
  const sent = (req: object, object: object, oldObject: object | null): unknown =>
    evaluateCel(policyMetadataCondition().expression, { request: req, object, oldObject });

  it("sends every write to the main resource and to other subresources", () => {
    expect(sent(request(), ns(), ns())).toBe(true);
    expect(sent(request("ephemeralcontainers"), ns(), ns())).toBe(true);
  });

  it("sends a status or finalize write that adds, changes or removes the mode label", () => {
    for (const sub of ["status", "finalize"]) {
      expect(sent(request(sub), ns({ "tollgate.dev/mode": "off" }), ns())).toBe(true);
      expect(
        sent(request(sub), ns({ "tollgate.dev/mode": "off" }), ns({ "tollgate.dev/mode": "enforce" })),
      ).toBe(true);
      expect(sent(request(sub), ns({}), ns({ "tollgate.dev/mode": "enforce" }))).toBe(true);
      expect(sent(request(sub), ns({ "tollgate.dev/mode": "" }), ns({}))).toBe(true);
    }
  });

  it("sends a status write that adds or changes an exemption annotation", () => {
    const exempt = { "tollgate.dev/exempt": "run-as-root" };
    expect(sent(request("status"), ns(undefined, exempt), ns())).toBe(true);
    expect(
      sent(
        request("status"),
        ns(undefined, { ...exempt, "tollgate.dev/exempt-until": "2027-01-01" }),
        ns(undefined, exempt),
      ),
    ).toBe(true);
  });

  it("keeps status writes that leave the policy metadata alone away from tollgate", () => {
    const labels = { "tollgate.dev/mode": "enforce", team: "a" };
    const annotations = { "tollgate.dev/exempt": "run-as-root", note: "x" };
    expect(sent(request("status"), ns(), ns())).toBe(false);
    expect(sent(request("status"), ns(labels, annotations), ns(labels, annotations))).toBe(false);
    expect(
      sent(
        request("status"),
        ns({ ...labels, team: "b" }, { ...annotations, note: "y" }),
        ns(labels, annotations),
      ),
    ).toBe(false);
  });
});

describe("namespacePolicyCondition and namespaceWritesCondition: every Namespace write goes to exactly one entry", () => {
  const request = (operation: string, resource = "namespaces", subResource?: string) => ({
    uid: "1",
    resource: { group: "", version: "v1", resource },
    ...(subResource ? { subResource } : {}),
    operation,
  });
  const ns = (labels?: Record<string, string>, annotations?: Record<string, string>) => ({
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "team-a", ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}) },
  });
  /** Which entries a request matches: [cluster (fail-closed), namespaces (fail-open)]. */
  const routes = (req: object, object: object, oldObject: object | null): unknown[] =>
    [namespacePolicyCondition(), namespaceWritesCondition()].map((condition) =>
      evaluateCel(condition.expression, { request: req, object, oldObject }),
    );
  const FAIL_CLOSED = [true, false];
  const FAIL_OPEN = [false, true];

  it("creates a plain Namespace through the fail-open entry: tollgate being down never blocks it", () => {
    expect(routes(request("CREATE"), ns({ team: "a" }), null)).toEqual(FAIL_OPEN);
    expect(routes(request("CREATE"), ns(), null)).toEqual(FAIL_OPEN);
  });

  it("creates a Namespace with the mode label or an exemption annotation through the fail-closed entry", () => {
    expect(routes(request("CREATE"), ns({ "tollgate.dev/mode": "off" }), null)).toEqual(FAIL_CLOSED);
    expect(routes(request("CREATE"), ns({ "tollgate.dev/mode": "" }), null)).toEqual(FAIL_CLOSED);
    expect(
      routes(request("CREATE"), ns(undefined, { "tollgate.dev/exempt-until": "2027-01-01" }), null),
    ).toEqual(FAIL_CLOSED);
  });

  it("sends an update that adds, changes or removes policy metadata to the fail-closed entry, any other to the fail-open one", () => {
    const enforce = { "tollgate.dev/mode": "enforce" };
    expect(routes(request("UPDATE"), ns({ "tollgate.dev/mode": "off" }), ns(enforce))).toEqual(FAIL_CLOSED);
    expect(routes(request("UPDATE"), ns({}), ns(enforce))).toEqual(FAIL_CLOSED);
    expect(routes(request("UPDATE"), ns(enforce, { "tollgate.dev/exempt": "x" }), ns(enforce))).toEqual(
      FAIL_CLOSED,
    );
    expect(routes(request("UPDATE"), ns({ ...enforce, team: "b" }), ns({ ...enforce, team: "a" }))).toEqual(
      FAIL_OPEN,
    );
  });

  it("lets every other kind through the cluster entry's condition", () => {
    const role = { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: "r" } };
    expect(
      evaluateCel(namespacePolicyCondition().expression, {
        request: request("CREATE", "clusterroles"),
        object: role,
        oldObject: null,
      }),
    ).toBe(true);
  });
});
