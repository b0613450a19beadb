/**
 * The one table of the Kubernetes kinds tollgate knows: where each lives in the API, where its pod
 * spec sits, and what it is for the rules. The webhook configuration's rules, the audit's lists and
 * the engine's targets are all read from here; a kind's group and resource are written nowhere else.
 */
export interface KindInfo {
  kind: string;
  /** The API group, `""` for the core group. */
  group: string;
  version: string;
  /** The resource name, as RBAC, the webhook's rules and error messages call it. */
  resource: string;
  namespaced: boolean;
  /** Subresources whose writes carry the whole object to admission (`kubectl debug` uses `ephemeralcontainers`). */
  judgedSubresources?: readonly string[];
  /**
   * Subresources whose writes keep the object's labels and annotations, so they can set the mode
   * label or an exemption annotation (`kubectl patch --subresource=status`).
   */
  metadataSubresources?: readonly string[];
  /** Where the pod spec sits, for kinds that carry one. */
  podSpecPath?: readonly string[];
  /** How many Pods it asks for: one (a Pod), `spec.replicas` (defaulted to 1), or no fixed count. */
  replicas?: "one" | "spec";
  /** Its Pods run to completion (no probes expected). */
  runsToCompletion?: boolean;
  /** Only describes Pods, runs none (a PodTemplate). */
  describesOnly?: boolean;
  /** Its controller creates the objects whose template tollgate already judged (owned Pods, a CronJob's Jobs). */
  controlsPods?: boolean;
  /** Served by a CRD that may not be installed. */
  crd?: boolean;
}

const TEMPLATE = ["spec", "template", "spec"] as const;
const RBAC = "rbac.authorization.k8s.io";

export const KINDS = {
  Namespace: {
    kind: "Namespace",
    group: "",
    version: "v1",
    resource: "namespaces",
    namespaced: false,
    metadataSubresources: ["status", "finalize"],
  },
  Pod: {
    kind: "Pod",
    group: "",
    version: "v1",
    resource: "pods",
    namespaced: true,
    judgedSubresources: ["ephemeralcontainers"],
    metadataSubresources: ["status"],
    podSpecPath: ["spec"],
    replicas: "one",
  },
  PodTemplate: {
    kind: "PodTemplate",
    group: "",
    version: "v1",
    resource: "podtemplates",
    namespaced: true,
    podSpecPath: ["template", "spec"],
    describesOnly: true,
  },
  ReplicationController: {
    kind: "ReplicationController",
    group: "",
    version: "v1",
    resource: "replicationcontrollers",
    namespaced: true,
    metadataSubresources: ["status"],
    podSpecPath: TEMPLATE,
    replicas: "spec",
    controlsPods: true,
  },
  ServiceAccount: {
    kind: "ServiceAccount",
    group: "",
    version: "v1",
    resource: "serviceaccounts",
    namespaced: true,
  },
  Secret: { kind: "Secret", group: "", version: "v1", resource: "secrets", namespaced: true },
  LimitRange: { kind: "LimitRange", group: "", version: "v1", resource: "limitranges", namespaced: true },
  ResourceQuota: {
    kind: "ResourceQuota",
    group: "",
    version: "v1",
    resource: "resourcequotas",
    namespaced: true,
  },
  Deployment: {
    kind: "Deployment",
    group: "apps",
    version: "v1",
    resource: "deployments",
    namespaced: true,
    metadataSubresources: ["status"],
    podSpecPath: TEMPLATE,
    replicas: "spec",
    controlsPods: true,
  },
  StatefulSet: {
    kind: "StatefulSet",
    group: "apps",
    version: "v1",
    resource: "statefulsets",
    namespaced: true,
    metadataSubresources: ["status"],
    podSpecPath: TEMPLATE,
    replicas: "spec",
    controlsPods: true,
  },
  DaemonSet: {
    kind: "DaemonSet",
    group: "apps",
    version: "v1",
    resource: "daemonsets",
    namespaced: true,
    metadataSubresources: ["status"],
    podSpecPath: TEMPLATE,
    controlsPods: true,
  },
  ReplicaSet: {
    kind: "ReplicaSet",
    group: "apps",
    version: "v1",
    resource: "replicasets",
    namespaced: true,
    metadataSubresources: ["status"],
    podSpecPath: TEMPLATE,
    replicas: "spec",
    controlsPods: true,
  },
  Job: {
    kind: "Job",
    group: "batch",
    version: "v1",
    resource: "jobs",
    namespaced: true,
    metadataSubresources: ["status"],
    podSpecPath: TEMPLATE,
    runsToCompletion: true,
    controlsPods: true,
  },
  CronJob: {
    kind: "CronJob",
    group: "batch",
    version: "v1",
    resource: "cronjobs",
    namespaced: true,
    metadataSubresources: ["status"],
    podSpecPath: ["spec", "jobTemplate", ...TEMPLATE],
    runsToCompletion: true,
    controlsPods: true,
  },
  NetworkPolicy: {
    kind: "NetworkPolicy",
    group: "networking.k8s.io",
    version: "v1",
    resource: "networkpolicies",
    namespaced: true,
  },
  PodDisruptionBudget: {
    kind: "PodDisruptionBudget",
    group: "policy",
    version: "v1",
    resource: "poddisruptionbudgets",
    namespaced: true,
  },
  Role: { kind: "Role", group: RBAC, version: "v1", resource: "roles", namespaced: true },
  ClusterRole: {
    kind: "ClusterRole",
    group: RBAC,
    version: "v1",
    resource: "clusterroles",
    namespaced: false,
  },
  RoleBinding: {
    kind: "RoleBinding",
    group: RBAC,
    version: "v1",
    resource: "rolebindings",
    namespaced: true,
  },
  ClusterRoleBinding: {
    kind: "ClusterRoleBinding",
    group: RBAC,
    version: "v1",
    resource: "clusterrolebindings",
    namespaced: false,
  },
  ValidatingWebhookConfiguration: {
    kind: "ValidatingWebhookConfiguration",
    group: "admissionregistration.k8s.io",
    version: "v1",
    resource: "validatingwebhookconfigurations",
    namespaced: false,
  },
  Schedule: {
    kind: "Schedule",
    group: "velero.io",
    version: "v1",
    resource: "schedules",
    namespaced: true,
    crd: true,
  },
  Prometheus: {
    kind: "Prometheus",
    group: "monitoring.coreos.com",
    version: "v1",
    resource: "prometheuses",
    namespaced: true,
    crd: true,
  },
  PrometheusRule: {
    kind: "PrometheusRule",
    group: "monitoring.coreos.com",
    version: "v1",
    resource: "prometheusrules",
    namespaced: true,
    crd: true,
  },
  Node: { kind: "Node", group: "", version: "v1", resource: "nodes", namespaced: false },
  NodePool: {
    kind: "NodePool",
    group: "karpenter.sh",
    version: "v1",
    resource: "nodepools",
    namespaced: false,
    crd: true,
  },
  Certificate: {
    kind: "Certificate",
    group: "cert-manager.io",
    version: "v1",
    resource: "certificates",
    namespaced: true,
    crd: true,
  },
} as const satisfies Record<string, KindInfo>;

export type KindName = keyof typeof KINDS;

const TABLE: readonly KindInfo[] = Object.values(KINDS);
const BY_GROUP_KIND = new Map(TABLE.map((info) => [`${info.group}/${info.kind}`, info]));

/** `apps/v1` for apps, `v1` for the core group. */
export function apiVersionOf(info: KindInfo): string {
  return info.group === "" ? info.version : `${info.group}/${info.version}`;
}

/** The API group of an `apiVersion` (`apps/v1` → `apps`, `v1` → ``). */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash === -1 ? "" : apiVersion.slice(0, slash);
}

/** The table's entry for a kind in a group: `evil.example.com` Deployment is not a Deployment. */
/**
 * The resource name the apiserver guesses for a kind it has no mapping of
 * (meta.UnsafeGuessKindToResource): lower case, then `es` after an `s`, `ies` for a final `y`,
 * else `s`, and `endpoints` as it is. Used for kinds outside the table (Ingress -> ingresses,
 * NetworkPolicy -> networkpolicies); a CRD that names another plural is matched by that only in a cluster.
 */
export function guessResource(kind: string): string {
  const singular = kind.toLowerCase();
  if (singular.endsWith("endpoints")) return singular;
  if (singular.endsWith("s")) return `${singular}es`;
  if (singular.endsWith("y")) return `${singular.slice(0, -1)}ies`;
  return `${singular}s`;
}

export function kindInGroup(group: string, kind: string): KindInfo | undefined {
  return BY_GROUP_KIND.get(`${group}/${kind}`);
}

function kindsWhere(test: (info: KindInfo) => boolean): readonly KindName[] {
  return (Object.keys(KINDS) as KindName[]).filter((name) => test(KINDS[name]));
}

/** Kinds whose objects carry a pod spec, as the catalog lists them. */
export const POD_SPEC_KINDS = [
  "Pod",
  "Deployment",
  "StatefulSet",
  "DaemonSet",
  "ReplicaSet",
  "ReplicationController",
  "Job",
  "CronJob",
  "PodTemplate",
] as const satisfies readonly KindName[];

/** Pod-spec kinds whose pods keep running (not Jobs and CronJobs, which run to completion). */
export const LONG_RUNNING_KINDS = POD_SPEC_KINDS.filter(
  (kind) => (KINDS[kind] as KindInfo).runsToCompletion !== true,
);

/** Pod-spec kinds that run pods in the cluster (a PodTemplate only describes them). */
export const WORKLOAD_KINDS = POD_SPEC_KINDS.filter(
  (kind) => (KINDS[kind] as KindInfo).describesOnly !== true,
);

/** Workloads that ask for a number of replicas in `spec.replicas`. */
export const REPLICATED_KINDS = POD_SPEC_KINDS.filter(
  (kind) => (KINDS[kind] as KindInfo).replicas === "spec",
);

/** Kinds whose controller creates objects from a template tollgate already judged. */
export const POD_CONTROLLER_KINDS = kindsWhere((info) => info.controlsPods === true);

/**
 * A custom resource that carries a pod template (the config's `podTemplates`), as the engine and
 * the webhook configuration read it: a kind outside the table, judged as the built-in kind it is `like`.
 */
export interface TemplateKindInfo extends KindInfo {
  /** The built-in workload kind whose rules apply to it, and whose traits it takes. */
  like: KindName;
}

/** A configured pod template's `<group>/<kind>`: never a KindName, which has no `/`. */
export type TemplateKey = `${string}/${string}`;

/** Whether a key names a configured pod template's kind rather than one of the table. */
export function isTemplateKey(key: string): key is TemplateKey {
  return key.includes("/");
}

/** The key of a configured pod template's kind. */
export function templateKey(info: { group: string; kind: string }): TemplateKey {
  return `${info.group}/${info.kind}`;
}

/** Custom pod-template kinds by `<group>/<kind>`, as `templateKinds` makes them. */
export type TemplateKinds = ReadonlyMap<string, TemplateKindInfo>;

export const NO_TEMPLATE_KINDS: TemplateKinds = new Map();

/**
 * The kinds of configured pod templates, by group and kind. The pod spec sits at `<path>.spec`
 * beside the template's `metadata`; the number of replicas and whether its Pods run to completion
 * come from the kind it is like (a Rollout like a Deployment reads `spec.replicas`). Custom
 * resources with pod templates are namespaced; any served version is judged, so the path must be
 * the same in each.
 */
export function templateKinds(
  templates: readonly { group: string; kind: string; path: string; resource: string; like: KindName }[],
): TemplateKinds {
  const byKey = new Map<string, TemplateKindInfo>();
  for (const template of templates) {
    const like: KindInfo = KINDS[template.like];
    const info: TemplateKindInfo = {
      kind: template.kind,
      group: template.group,
      version: "*",
      resource: template.resource,
      namespaced: true,
      podSpecPath: [...template.path.split("."), "spec"],
      crd: true,
      like: template.like,
    };
    if (like.replicas !== undefined) info.replicas = like.replicas;
    if (like.runsToCompletion === true) info.runsToCompletion = true;
    byKey.set(templateKey(template), info);
  }
  return byKey;
}

/** The table's entry for a kind in a group, else the configured pod template's. */
export function kindOrTemplate(group: string, kind: string, templates: TemplateKinds): KindInfo | undefined {
  return kindInGroup(group, kind) ?? templates.get(`${group}/${kind}`);
}

/** The RBAC kinds that hold policy rules. */
export const ROLE_KINDS = ["Role", "ClusterRole"] as const satisfies readonly KindName[];
/** The RBAC kinds that bind roles to subjects. */
export const BINDING_KINDS = ["RoleBinding", "ClusterRoleBinding"] as const satisfies readonly KindName[];
