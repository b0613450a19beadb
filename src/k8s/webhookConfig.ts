import type {
  V1LabelSelector,
  V1MatchCondition,
  V1RuleWithOperations,
  V1ValidatingWebhook,
  V1ValidatingWebhookConfiguration,
} from "@kubernetes/client-node";
import type { Config } from "../config/schema.js";
import { POD_CONTROLLER_KINDS } from "../engine/targets.js";
import { ALL_RULES } from "../rules/index.js";
import type { Rule } from "../rules/types.js";

/** The namespace label that picks a namespace's mode. */
export const MODE_LABEL = "tollgate.dev/mode";
/** Set by the apiserver on every Namespace since Kubernetes 1.21; selects namespaces by name. */
export const NAME_LABEL = "kubernetes.io/metadata.name";

interface ResourceOf {
  group: string;
  version: string;
  /** The resource and the subresources that carry the same object to admission. */
  resources: readonly string[];
  scope: "Namespaced" | "Cluster";
}

/**
 * Where each kind a rule can name lives in the API. A rule naming a kind missing here makes
 * the builder throw, so a new rule cannot silently go unchecked by the webhook.
 */
export const KIND_RESOURCES: Readonly<Record<string, ResourceOf>> = {
  // `kubectl debug` adds containers through the subresource: they must be checked as well.
  Pod: { group: "", version: "v1", resources: ["pods", "pods/ephemeralcontainers"], scope: "Namespaced" },
  PodTemplate: { group: "", version: "v1", resources: ["podtemplates"], scope: "Namespaced" },
  ReplicationController: {
    group: "",
    version: "v1",
    resources: ["replicationcontrollers"],
    scope: "Namespaced",
  },
  ServiceAccount: { group: "", version: "v1", resources: ["serviceaccounts"], scope: "Namespaced" },
  Secret: { group: "", version: "v1", resources: ["secrets"], scope: "Namespaced" },
  Service: { group: "", version: "v1", resources: ["services"], scope: "Namespaced" },
  ConfigMap: { group: "", version: "v1", resources: ["configmaps"], scope: "Namespaced" },
  Namespace: { group: "", version: "v1", resources: ["namespaces"], scope: "Cluster" },
  Deployment: { group: "apps", version: "v1", resources: ["deployments"], scope: "Namespaced" },
  StatefulSet: { group: "apps", version: "v1", resources: ["statefulsets"], scope: "Namespaced" },
  DaemonSet: { group: "apps", version: "v1", resources: ["daemonsets"], scope: "Namespaced" },
  ReplicaSet: { group: "apps", version: "v1", resources: ["replicasets"], scope: "Namespaced" },
  Job: { group: "batch", version: "v1", resources: ["jobs"], scope: "Namespaced" },
  CronJob: { group: "batch", version: "v1", resources: ["cronjobs"], scope: "Namespaced" },
  Role: { group: "rbac.authorization.k8s.io", version: "v1", resources: ["roles"], scope: "Namespaced" },
  RoleBinding: {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    resources: ["rolebindings"],
    scope: "Namespaced",
  },
  ClusterRole: {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    resources: ["clusterroles"],
    scope: "Cluster",
  },
  ClusterRoleBinding: {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    resources: ["clusterrolebindings"],
    scope: "Cluster",
  },
  NetworkPolicy: {
    group: "networking.k8s.io",
    version: "v1",
    resources: ["networkpolicies"],
    scope: "Namespaced",
  },
  PodDisruptionBudget: {
    group: "policy",
    version: "v1",
    resources: ["poddisruptionbudgets"],
    scope: "Namespaced",
  },
};

/** How the apiserver reaches tollgate: the in-cluster Service, or a URL (local and out-of-cluster). */
export type ClientTarget =
  | { service: { namespace: string; name: string; port: number } }
  /** Base URL without a path, e.g. `https://127.0.0.1:8443`; the builder appends `/validate/<mode>`. */
  | { url: string };

export interface WebhookBuildOptions {
  /** PEM bundle of the CAs the apiserver trusts for tollgate; omitted from the object when absent. */
  caBundle?: string | undefined;
  /** The Service from `config.webhook` when absent. */
  clientConfig?: ClientTarget;
  /** The rules whose kinds are sent to tollgate; every shipped rule when absent. */
  rules?: readonly Rule[];
}

/** The suffix of every webhook entry's name (entries need a fully qualified name). */
const ENTRY_DOMAIN = "tollgate.dev";

/** The kinds the admission webhook must receive: those of every rule that runs at admission. */
export function admissionKinds(rules: readonly Rule[]): string[] {
  const kinds = new Set<string>();
  for (const rule of rules) {
    if (rule.sources && !rule.sources.includes("admission")) continue;
    for (const kind of rule.kinds) kinds.add(kind);
  }
  return [...kinds].sort();
}

/** Webhook rules for `kinds` in one scope: one rule per API group, resources sorted. */
export function webhookRules(kinds: readonly string[], scope: ResourceOf["scope"]): V1RuleWithOperations[] {
  const byGroup = new Map<string, { version: string; resources: Set<string> }>();
  for (const kind of kinds) {
    const where = KIND_RESOURCES[kind];
    if (!where) {
      throw new Error(
        `no API resource is known for kind ${JSON.stringify(kind)}: add it to KIND_RESOURCES in src/k8s/webhookConfig.ts`,
      );
    }
    if (where.scope !== scope) continue;
    const entry = byGroup.get(where.group) ?? { version: where.version, resources: new Set<string>() };
    for (const resource of where.resources) entry.resources.add(resource);
    byGroup.set(where.group, entry);
  }
  return [...byGroup.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([group, { version, resources }]) => ({
      apiGroups: [group],
      apiVersions: [version],
      operations: ["CREATE", "UPDATE"],
      resources: [...resources].sort(),
      scope,
    }));
}

/**
 * CEL that lets the apiserver skip Pods whose controller is a workload kind: tollgate skips them
 * anyway (`skipOwnedPods`), so the round trip is pure cost. Ephemeral containers are still sent.
 * An expression that errors fails the request under `failurePolicy: Fail`, so every optional field is
 * guarded with `has()`.
 */
export function ownedPodCondition(): V1MatchCondition {
  const kinds = [...POD_CONTROLLER_KINDS]
    .sort()
    .map((kind) => `'${kind}'`)
    .join(", ");
  return {
    name: "not-an-owned-pod",
    expression: [
      "request.resource.resource != 'pods'",
      // The apiserver leaves empty fields out of the request, and CEL fails on a missing key.
      "(has(request.subResource) && request.subResource == 'ephemeralcontainers')",
      "!has(object.metadata.ownerReferences)",
      `!object.metadata.ownerReferences.exists(r, has(r.controller) && r.controller && r.kind in [${kinds}])`,
    ].join(" || "),
  };
}

function clientConfigFor(target: ClientTarget, path: string, caBundle: string | undefined) {
  const ca = caBundle === undefined ? {} : { caBundle: Buffer.from(caBundle).toString("base64") };
  if ("url" in target) return { url: `${target.url.replace(/\/+$/, "")}${path}`, ...ca };
  return { service: { ...target.service, path }, ...ca };
}

/**
 * The ValidatingWebhookConfiguration for `config`: pure, so tests compare it to an expected object.
 *
 * Entries:
 * - `enforce` / `warn`: namespaced objects in namespaces labelled `tollgate.dev/mode=<mode>`.
 * - `default`: namespaced objects in namespaces with no (or an unknown) mode label, sent to
 *   `/validate`, which follows `defaultMode` from the live config. `off` matches nothing.
 * - `cluster`: cluster-scoped kinds (ClusterRole, Namespace…), also to `/validate`. It has no mode
 *   selector: a Namespace is matched on its own new labels, so a selector on the mode label would
 *   let a request that sets the label to `off` bypass `protected-policy-label`.
 * Excluded namespaces (system ones and tollgate's) are left out of every entry by name, so the
 * cluster can always heal, even while tollgate is down.
 */
export function buildWebhookConfiguration(
  config: Config,
  options: WebhookBuildOptions = {},
): V1ValidatingWebhookConfiguration {
  const { webhook } = config;
  const target: ClientTarget = options.clientConfig ?? {
    service: { namespace: webhook.namespace, name: webhook.service, port: webhook.port },
  };
  const kinds = admissionKinds(options.rules ?? ALL_RULES);
  const namespacedRules = webhookRules(kinds, "Namespaced");
  const clusterRules = webhookRules(kinds, "Cluster");
  const excluded = [...new Set([...config.excludedNamespaces, webhook.namespace])].sort();
  const notExcluded = { key: NAME_LABEL, operator: "NotIn", values: excluded };
  const podsChecked = kinds.includes("Pod");
  const matchConditions = config.skipOwnedPods && podsChecked ? [ownedPodCondition()] : [];

  const entry = (
    name: string,
    path: string,
    namespaceSelector: V1LabelSelector,
    rules: V1RuleWithOperations[],
    conditions: V1MatchCondition[],
  ): V1ValidatingWebhook => ({
    name: `${name}.${ENTRY_DOMAIN}`,
    admissionReviewVersions: ["v1"],
    clientConfig: clientConfigFor(target, path, options.caBundle),
    failurePolicy: webhook.failurePolicy,
    matchPolicy: "Equivalent",
    namespaceSelector,
    ...(conditions.length > 0 ? { matchConditions: conditions } : {}),
    rules,
    sideEffects: "None",
    timeoutSeconds: webhook.timeoutSeconds,
  });

  const webhooks: V1ValidatingWebhook[] = [];
  if (namespacedRules.length > 0) {
    for (const mode of ["enforce", "warn"] as const) {
      webhooks.push(
        entry(
          mode,
          `/validate/${mode}`,
          { matchExpressions: [{ key: MODE_LABEL, operator: "In", values: [mode] }, notExcluded] },
          namespacedRules,
          matchConditions,
        ),
      );
    }
    webhooks.push(
      entry(
        "default",
        "/validate",
        {
          // NotIn also matches namespaces without the label; a misspelt mode falls back to the default.
          matchExpressions: [
            { key: MODE_LABEL, operator: "NotIn", values: ["enforce", "off", "warn"] },
            notExcluded,
          ],
        },
        namespacedRules,
        matchConditions,
      ),
    );
  }
  if (clusterRules.length > 0) {
    webhooks.push(entry("cluster", "/validate", { matchExpressions: [notExcluded] }, clusterRules, []));
  }

  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingWebhookConfiguration",
    metadata: { name: webhook.name, labels: { "app.kubernetes.io/name": "tollgate" } },
    webhooks,
  };
}
