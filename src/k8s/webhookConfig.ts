import type {
  V1LabelSelector,
  V1MatchCondition,
  V1NamedRuleWithOperations,
  V1RuleWithOperations,
  V1ValidatingWebhook,
  V1ValidatingWebhookConfiguration,
} from "@kubernetes/client-node";
import type { Config, PodTemplateConfig } from "../config/schema.js";
import { compilePolicy, kindsRunIn } from "../engine/policy.js";
import type { Rule } from "../rules/types.js";
import { type KindInfo, KINDS, POD_CONTROLLER_KINDS } from "../objects/kinds.js";
import { EXEMPTION_ANNOTATIONS, MODE_LABEL, NAME_LABEL } from "../objects/labels.js";
import type { PolicySet } from "../vap/load.js";

/** Where a kind lives in the API, as the webhook's rules name it. */
interface ResourceOf {
  group: string;
  version: string;
  /** The resource and the subresources that carry the same object to admission. */
  resources: readonly string[];
  /**
   * Subresources whose writes keep the object's labels and annotations, so they can set the mode
   * label or an exemption annotation. The webhook receives them only when that metadata changes
   * (`policyMetadataCondition`).
   */
  metadataSubresources: readonly string[];
  scope: "Namespaced" | "Cluster";
}

/** The kinds table's entry for `kind`, in the webhook's terms. */
function resourceOf(kind: string): ResourceOf | undefined {
  const info: KindInfo | undefined = (KINDS as Record<string, KindInfo>)[kind];
  if (info === undefined) return undefined;
  const sub = (names: readonly string[] | undefined) =>
    (names ?? []).map((name) => `${info.resource}/${name}`);
  return {
    group: info.group,
    version: info.version,
    resources: [info.resource, ...sub(info.judgedSubresources)],
    metadataSubresources: sub(info.metadataSubresources),
    scope: info.namespaced ? "Namespaced" : "Cluster",
  };
}

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
  /**
   * The resource rules of loaded ValidatingAdmissionPolicies (`matchConstraints.resourceRules`):
   * what they select is sent to tollgate too, whatever kind it is.
   */
  policyRules?: readonly V1NamedRuleWithOperations[];
  /** The custom resources whose pod templates are judged; `config.podTemplates` when absent. */
  podTemplates?: readonly PodTemplateConfig[];
}

/** The resource rules of every policy of the set (`matchConstraints.resourceRules`), in order. */
export function policyResourceRules(set: PolicySet | undefined): V1NamedRuleWithOperations[] {
  return (set?.policies ?? []).flatMap((policy) => policy.matchConstraints.resourceRules ?? []);
}

/**
 * Webhook rules for what policies select, in one scope: a policy rule of scope `*` (or none) goes
 * to both. `resourceNames` cannot be said in a webhook rule; the policy's own match narrows again.
 */
export function policyWebhookRules(
  rules: readonly V1NamedRuleWithOperations[],
  scope: "Namespaced" | "Cluster",
): V1RuleWithOperations[] {
  return rules
    .filter((rule) => rule.scope === undefined || rule.scope === "*" || rule.scope === scope)
    .map((rule) => ({
      apiGroups: [...(rule.apiGroups ?? [])],
      apiVersions: [...(rule.apiVersions ?? [])],
      operations: [...(rule.operations ?? [])],
      resources: [...(rule.resources ?? [])],
      scope,
    }));
}

/**
 * Webhook rules for the custom resources of `podTemplates`: one rule per API group, resources
 * sorted, every version (the config names none; the template's path is the same in each). Their
 * status subresource is not sent: the apiserver keeps nothing of a custom resource's status write
 * but the status (apiextensions-apiserver's statusStrategy), so it cannot set policy metadata.
 */
export function podTemplateWebhookRules(templates: readonly PodTemplateConfig[]): V1RuleWithOperations[] {
  const byGroup = new Map<string, Set<string>>();
  for (const { group, resource } of templates)
    byGroup.set(group, (byGroup.get(group) ?? new Set()).add(resource));
  // Byte order, as the chart's sortAlpha sorts.
  return [...byGroup.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([group, resources]) => ({
      apiGroups: [group],
      apiVersions: ["*"],
      operations: ["CREATE", "UPDATE"],
      resources: [...resources].sort(),
      scope: "Namespaced",
    }));
}

/** The suffix of every webhook entry's name (entries need a fully qualified name). */
const ENTRY_DOMAIN = "tollgate.dev";

/**
 * The kinds the admission webhook must receive: those of every rule that runs at admission,
 * whatever its severity in this config (the configuration outlives a reload that turns one on).
 */
export function admissionKinds(rules: readonly Rule[]): readonly string[] {
  return kindsRunIn(rules, "admission");
}

/** Webhook rules for `kinds` in one scope: one rule per API group, resources sorted. */
export function webhookRules(kinds: readonly string[], scope: ResourceOf["scope"]): V1RuleWithOperations[] {
  const byGroup = new Map<string, { version: string; resources: Set<string> }>();
  for (const kind of kinds) {
    const where = resourceOf(kind);
    if (!where) {
      throw new Error(
        `no API resource is known for kind ${JSON.stringify(kind)}: add it to KINDS in src/objects/kinds.ts`,
      );
    }
    if (where.scope !== scope) continue;
    const entry = byGroup.get(where.group) ?? { version: where.version, resources: new Set<string>() };
    for (const resource of [...where.resources, ...where.metadataSubresources]) {
      entry.resources.add(resource);
    }
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
 * CEL that lets the apiserver skip Pods that a workload controller creates from a template tollgate
 * already judged (`skipOwnedPods`): the round trip is pure cost. Only the requester's identity,
 * which the apiserver vouches for, can make that call; the owner reference is written by whoever
 * writes the Pod, so it must also name the owner's API group (`evil.example.com/v1 ReplicaSet` is
 * no ReplicaSet). Subresources (ephemeral containers, status) are always sent.
 * An expression that errors fails the request under `failurePolicy: Fail`, so every optional field is
 * guarded with `has()`.
 */
export function ownedPodCondition(controllers: readonly string[]): V1MatchCondition {
  const owners = [...POD_CONTROLLER_KINDS]
    .sort((a, b) => a.localeCompare(b))
    .map((kind) => [kind, KINDS[kind].group] as const)
    .map(([kind, group]) =>
      group === ""
        ? `(r.kind == '${kind}' && r.apiVersion == 'v1')`
        : `(r.kind == '${kind}' && r.apiVersion.startsWith('${group}/'))`,
    )
    .join(" || ");
  return {
    name: "not-an-owned-pod",
    expression: [
      "request.resource.resource != 'pods'",
      // The apiserver leaves empty fields out of the request, and CEL fails on a missing key.
      "(has(request.subResource) && request.subResource != '')",
      `!has(request.userInfo.username) || !(request.userInfo.username in [${controllers.map(celString).join(", ")}])`,
      "!has(object.metadata.ownerReferences)",
      `!object.metadata.ownerReferences.exists(r, has(r.controller) && r.controller && (${owners}))`,
    ]
      .map((part) => (part.includes(" || ") ? `(${part})` : part))
      .join(" || "),
  };
}

/** A CEL string literal. */
function celString(value: string): string {
  return `'${value.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
}

/** CEL: does `key` of `metadata.<field>` differ between object and oldObject (added, changed or removed)? */
function metadataKeyDiffers(field: "labels" | "annotations", key: string): string {
  const has = (root: string) =>
    `(has(${root}.metadata.${field}) && ${celString(key)} in ${root}.metadata.${field})`;
  const value = (root: string) => `${root}.metadata.${field}[${celString(key)}]`;
  return `${has("object")} != ${has("oldObject")} || (${has("object")} && ${value("object")} != ${value("oldObject")})`;
}

/**
 * CEL that sends a write through a metadata-keeping subresource (status, finalize) only when it
 * touches the mode label or an exemption annotation: kubelets and controllers write status all the
 * time, and none of that should wait on tollgate.
 */
export function policyMetadataCondition(): V1MatchCondition {
  const changes = [
    metadataKeyDiffers("labels", MODE_LABEL),
    ...EXEMPTION_ANNOTATIONS.map((key) => metadataKeyDiffers("annotations", key)),
  ];
  return {
    name: "policy-metadata-changed-by-subresource",
    expression: [
      "!has(request.subResource)",
      `!(request.subResource in [${[...METADATA_SUBRESOURCE_NAMES].map(celString).join(", ")}])`,
      "oldObject == null",
      ...changes.map((change) => `(${change})`),
    ].join(" || "),
  };
}

/** The label and annotations whose changes `protected-policy-label` judges, as metadata field and key. */
const POLICY_METADATA: readonly (readonly ["labels" | "annotations", string])[] = [
  ["labels", MODE_LABEL],
  ...EXEMPTION_ANNOTATIONS.map((key) => ["annotations", key] as const),
];

/**
 * CEL: does the write set the mode label or an exemption annotation (CREATE), or change one
 * (UPDATE)? `oldObject` is null on CREATE; CEL's `&&` absorbs the error of reading it then.
 */
function policyMetadataTouched(): string {
  const present = POLICY_METADATA.map(
    ([field, key]) => `(has(object.metadata.${field}) && ${celString(key)} in object.metadata.${field})`,
  ).join(" || ");
  const changed = POLICY_METADATA.map(([field, key]) => `(${metadataKeyDiffers(field, key)})`).join(" || ");
  return `(oldObject == null && (${present})) || (oldObject != null && (${changed}))`;
}

/**
 * CEL for the `cluster` entry: a Namespace write reaches it only when it sets or changes policy
 * metadata (what `protected-policy-label` must judge, fail-closed); every other Namespace write
 * goes to the fail-open `namespaces` entry (`namespaceWritesCondition`). Other kinds always pass.
 */
export function namespacePolicyCondition(): V1MatchCondition {
  return {
    name: "namespace-sets-policy-metadata",
    expression: `request.resource.resource != 'namespaces' || ${policyMetadataTouched()}`,
  };
}

/** CEL for the `namespaces` entry: the Namespace writes that leave policy metadata alone. */
export function namespaceWritesCondition(): V1MatchCondition {
  return { name: "namespace-leaves-policy-metadata", expression: `!(${policyMetadataTouched()})` };
}

/** The names, after the slash, of every kind's metadata-keeping subresources. */
const METADATA_SUBRESOURCE_NAMES = new Set(
  Object.values(KINDS as Record<string, KindInfo>).flatMap((info) => info.metadataSubresources ?? []),
);

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
 *   let a request that sets the label to `off` bypass `protected-policy-label`. Namespace writes
 *   reach it only when they set or change the mode label or an exemption annotation.
 * - `namespaces`: every other Namespace write, always `failurePolicy: Ignore`, whatever the config
 *   says. Creating a Namespace must never wait on tollgate (recovering a cluster, reinstalling
 *   tollgate itself, an add-on's namespace); what tollgate says about a plain Namespace is a
 *   warning by default (`namespace-pss-label-missing`), and what it must block (relabelling) still
 *   goes to the fail-closed `cluster` entry.
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
  const kinds = options.rules
    ? admissionKinds(options.rules)
    : compilePolicy(config).bySource.admission.kinds;
  const policyRules = options.policyRules ?? [];
  const namespacedRules = [
    ...webhookRules(kinds, "Namespaced"),
    ...podTemplateWebhookRules(options.podTemplates ?? config.podTemplates),
    ...policyWebhookRules(policyRules, "Namespaced"),
  ];
  const clusterRules = [...webhookRules(kinds, "Cluster"), ...policyWebhookRules(policyRules, "Cluster")];
  const excluded = [...new Set([...config.excludedNamespaces, webhook.namespace])].sort();
  const notExcluded = { key: NAME_LABEL, operator: "NotIn", values: excluded };
  const podsChecked = kinds.includes("Pod");
  const metadataCondition = policyMetadataCondition();
  const matchConditions =
    config.skipOwnedPods && podsChecked
      ? [ownedPodCondition(config.workloadControllers), metadataCondition]
      : [metadataCondition];

  const entry = (
    name: string,
    path: string,
    namespaceSelector: V1LabelSelector,
    rules: V1RuleWithOperations[],
    conditions: V1MatchCondition[],
    failurePolicy: "Fail" | "Ignore" = webhook.failurePolicy,
  ): V1ValidatingWebhook => ({
    name: `${name}.${ENTRY_DOMAIN}`,
    admissionReviewVersions: ["v1"],
    clientConfig: clientConfigFor(target, path, options.caBundle),
    failurePolicy,
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
  const namespacesChecked = kinds.includes("Namespace");
  if (clusterRules.length > 0) {
    webhooks.push(
      entry(
        "cluster",
        "/validate",
        { matchExpressions: [notExcluded] },
        clusterRules,
        namespacesChecked ? [metadataCondition, namespacePolicyCondition()] : [metadataCondition],
      ),
    );
  }
  if (namespacesChecked) {
    // The main resource only: a subresource write reaches tollgate only to change policy metadata.
    const namespaceRules = webhookRules(["Namespace"], "Cluster").map((rule) => ({
      ...rule,
      resources: ["namespaces"],
    }));
    webhooks.push(
      entry(
        "namespaces",
        "/validate",
        { matchExpressions: [notExcluded] },
        namespaceRules,
        [namespaceWritesCondition()],
        "Ignore",
      ),
    );
  }

  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingWebhookConfiguration",
    metadata: { name: webhook.name, labels: { "app.kubernetes.io/name": "tollgate" } },
    webhooks,
  };
}
