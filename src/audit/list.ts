import {
  AdmissionregistrationV1Api,
  ApisApi,
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  NetworkingV1Api,
  PolicyV1Api,
  RbacAuthorizationV1Api,
  VersionApi,
} from "@kubernetes/client-node";
import {
  type ApiFailure,
  ClusterError,
  classifyApiError,
  fatalClusterError,
  serverOf,
} from "../k8s/client.js";
import type { ClusterSnapshot } from "./snapshot.js";
import {
  apiVersionOf,
  type KindInfo,
  type KindName,
  KINDS,
  type TemplateKey,
  type TemplateKindInfo,
  templateKey,
} from "../objects/kinds.js";
import type { KubeObject } from "../objects/object.js";

const PAGE_SIZE = 500;

interface Page {
  items: unknown[];
  continueToken: string | undefined;
}

interface ListParams {
  limit: number;
  _continue?: string;
  fieldSelector?: string;
}

interface Apis {
  core: CoreV1Api;
  apps: AppsV1Api;
  batch: BatchV1Api;
  networking: NetworkingV1Api;
  policy: PolicyV1Api;
  rbac: RbacAuthorizationV1Api;
  admission: AdmissionregistrationV1Api;
  custom: CustomObjectsApi;
}

interface TypedList {
  items: unknown[];
  metadata?: { _continue?: string };
}

function typed(list: TypedList): Page {
  return { items: list.items, continueToken: list.metadata?._continue || undefined };
}

function plain(list: unknown): Page {
  const { items, metadata } = (list ?? {}) as { items?: unknown; metadata?: { continue?: unknown } };
  const token = metadata?.continue;
  return {
    items: Array.isArray(items) ? items : [],
    continueToken: typeof token === "string" && token !== "" ? token : undefined,
  };
}

type Lister = (apis: Apis, params: ListParams, namespace: string | undefined) => Promise<Page>;

/** The lister of a CRD's kind, through the custom objects API (group, version and plural from the table). */
function customLister(info: KindInfo): Lister {
  const { group, version, resource: plural } = info;
  // `namespace` is only given for namespaced kinds.
  return async ({ custom }, p, ns) =>
    plain(
      ns
        ? await custom.listNamespacedCustomObject({ ...p, group, version, plural, namespace: ns })
        : await custom.listClusterCustomObject({ ...p, group, version, plural }),
    );
}

/** One page of each kind: all namespaces, or one with `--namespace`. */
const LISTERS: Record<KindName, Lister> = {
  Namespace: async ({ core }, p) => typed(await core.listNamespace(p)),
  Pod: async ({ core }, p, ns) =>
    typed(ns ? await core.listNamespacedPod({ ...p, namespace: ns }) : await core.listPodForAllNamespaces(p)),
  PodTemplate: async ({ core }, p, ns) =>
    typed(
      ns
        ? await core.listNamespacedPodTemplate({ ...p, namespace: ns })
        : await core.listPodTemplateForAllNamespaces(p),
    ),
  ReplicationController: async ({ core }, p, ns) =>
    typed(
      ns
        ? await core.listNamespacedReplicationController({ ...p, namespace: ns })
        : await core.listReplicationControllerForAllNamespaces(p),
    ),
  ServiceAccount: async ({ core }, p, ns) =>
    typed(
      ns
        ? await core.listNamespacedServiceAccount({ ...p, namespace: ns })
        : await core.listServiceAccountForAllNamespaces(p),
    ),
  Secret: async ({ core }, p, ns) =>
    typed(
      ns
        ? await core.listNamespacedSecret({ ...p, namespace: ns })
        : await core.listSecretForAllNamespaces(p),
    ),
  LimitRange: async ({ core }, p, ns) =>
    typed(
      ns
        ? await core.listNamespacedLimitRange({ ...p, namespace: ns })
        : await core.listLimitRangeForAllNamespaces(p),
    ),
  ResourceQuota: async ({ core }, p, ns) =>
    typed(
      ns
        ? await core.listNamespacedResourceQuota({ ...p, namespace: ns })
        : await core.listResourceQuotaForAllNamespaces(p),
    ),
  Deployment: async ({ apps }, p, ns) =>
    typed(
      ns
        ? await apps.listNamespacedDeployment({ ...p, namespace: ns })
        : await apps.listDeploymentForAllNamespaces(p),
    ),
  StatefulSet: async ({ apps }, p, ns) =>
    typed(
      ns
        ? await apps.listNamespacedStatefulSet({ ...p, namespace: ns })
        : await apps.listStatefulSetForAllNamespaces(p),
    ),
  DaemonSet: async ({ apps }, p, ns) =>
    typed(
      ns
        ? await apps.listNamespacedDaemonSet({ ...p, namespace: ns })
        : await apps.listDaemonSetForAllNamespaces(p),
    ),
  ReplicaSet: async ({ apps }, p, ns) =>
    typed(
      ns
        ? await apps.listNamespacedReplicaSet({ ...p, namespace: ns })
        : await apps.listReplicaSetForAllNamespaces(p),
    ),
  Job: async ({ batch }, p, ns) =>
    typed(
      ns ? await batch.listNamespacedJob({ ...p, namespace: ns }) : await batch.listJobForAllNamespaces(p),
    ),
  CronJob: async ({ batch }, p, ns) =>
    typed(
      ns
        ? await batch.listNamespacedCronJob({ ...p, namespace: ns })
        : await batch.listCronJobForAllNamespaces(p),
    ),
  NetworkPolicy: async ({ networking }, p, ns) =>
    typed(
      ns
        ? await networking.listNamespacedNetworkPolicy({ ...p, namespace: ns })
        : await networking.listNetworkPolicyForAllNamespaces(p),
    ),
  PodDisruptionBudget: async ({ policy }, p, ns) =>
    typed(
      ns
        ? await policy.listNamespacedPodDisruptionBudget({ ...p, namespace: ns })
        : await policy.listPodDisruptionBudgetForAllNamespaces(p),
    ),
  Role: async ({ rbac }, p, ns) =>
    typed(
      ns ? await rbac.listNamespacedRole({ ...p, namespace: ns }) : await rbac.listRoleForAllNamespaces(p),
    ),
  ClusterRole: async ({ rbac }, p) => typed(await rbac.listClusterRole(p)),
  RoleBinding: async ({ rbac }, p, ns) =>
    typed(
      ns
        ? await rbac.listNamespacedRoleBinding({ ...p, namespace: ns })
        : await rbac.listRoleBindingForAllNamespaces(p),
    ),
  ClusterRoleBinding: async ({ rbac }, p) => typed(await rbac.listClusterRoleBinding(p)),
  ValidatingWebhookConfiguration: async ({ admission }, p) =>
    typed(await admission.listValidatingWebhookConfiguration(p)),
  Node: async ({ core }, p) => typed(await core.listNode(p)),
  Schedule: customLister(KINDS.Schedule),
  Prometheus: customLister(KINDS.Prometheus),
  PrometheusRule: customLister(KINDS.PrometheusRule),
  NodePool: customLister(KINDS.NodePool),
  Certificate: customLister(KINDS.Certificate),
};

/** A request `audit` wants: which kind, and a field selector to read less (TLS and Helm release Secrets only). */
export interface ListRequest {
  kind: KindName;
  fieldSelector?: string;
}

export interface ListOptions {
  namespace?: string | undefined;
  /** The config's pod-template kinds to list too, in the version their group prefers (`planAudit`). */
  templates?: readonly TemplateKindInfo[];
  /** Called before each kind is listed, for a progress bar. */
  onProgress?: (done: number, total: number, kind: KindInfo, objects: number) => void;
}

/** A problem with one list call that does not stop the audit. */
export interface ListProblem {
  kind: KindName | TemplateKey;
  message: string;
  /** Whether it makes the audit incomplete (exit 2): a refused list does, a missing CRD does not. */
  error: boolean;
}

export interface ListResult {
  snapshot: ClusterSnapshot;
  problems: ListProblem[];
}

function describeFailure(
  key: KindName | TemplateKey,
  kind: KindInfo,
  failure: ApiFailure,
  namespace: string | undefined,
): ListProblem | null {
  const resource = `${kind.resource} (${kind.group || "core"})`;
  switch (failure.type) {
    case "forbidden":
      return {
        kind: key,
        message: namespace
          ? `missing permission: list ${resource} in namespace ${namespace} — grant it to the user of the context`
          : `missing permission: list ${resource} — grant it or run with --namespace`,
        error: true,
      };
    case "not found":
      return {
        kind: key,
        message: kind.crd
          ? `${apiVersionOf(kind)} ${kind.kind} is not served (its CRD is not installed)`
          : `${apiVersionOf(kind)} ${kind.kind} is not served by this cluster`,
        error: false,
      };
    default:
      return {
        kind: key,
        message: `cannot list ${resource}: ${failure.message}`,
        error: true,
      };
  }
}

/**
 * Whether the API serves a CRD's resource, from discovery (which every authenticated user may read);
 * undefined when discovery cannot tell. kube-apiserver authorizes a request before it routes it, so a
 * user without list permission gets 403, not 404, for a resource whose CRD is not installed.
 */
async function served(apis: Apis, kind: KindInfo): Promise<boolean | undefined> {
  const { group, version } = kind;
  if (group === "") return undefined;
  try {
    const resources = await apis.custom.getAPIResources({ group, version });
    return resources.resources.some((r) => r.name === kind.resource);
  } catch (error) {
    return classifyApiError(error).type === "not found" ? false : undefined;
  }
}

/**
 * The only I/O of `audit`: the server version and every requested kind, page by page
 * (`limit`/`continue`). Unreachable clusters and refused credentials throw a ClusterError;
 * a refused or unserved kind is recorded and the rest is still listed.
 */
export async function listCluster(
  kc: KubeConfig,
  requests: readonly ListRequest[],
  options: ListOptions = {},
): Promise<ListResult> {
  const server = serverOf(kc);
  const apis: Apis = {
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    batch: kc.makeApiClient(BatchV1Api),
    networking: kc.makeApiClient(NetworkingV1Api),
    policy: kc.makeApiClient(PolicyV1Api),
    rbac: kc.makeApiClient(RbacAuthorizationV1Api),
    admission: kc.makeApiClient(AdmissionregistrationV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
  };
  const snapshot: ClusterSnapshot = { objects: {}, unavailable: {} };
  if (options.namespace !== undefined) snapshot.namespace = options.namespace;
  const problems: ListProblem[] = [];

  try {
    const version = await kc.makeApiClient(VersionApi).getCode();
    snapshot.version = { major: version.major, minor: version.minor, gitVersion: version.gitVersion };
  } catch (error) {
    // The first call: anything but a refusal means there is no usable connection at all.
    const failure = classifyApiError(error);
    const fatal = fatalClusterError(failure, server);
    if (fatal) throw fatal;
    if (failure.type !== "forbidden" && failure.type !== "not found") {
      throw new ClusterError(`cannot reach the cluster at ${server}: ${failure.message}`);
    }
    problems.push({
      kind: "Namespace",
      message: `cannot read the server version: ${failure.message}`,
      error: false,
    });
  }

  const templates = options.templates ?? [];
  const total = requests.length + templates.length;
  let done = 0;
  /** Every page of one kind; the items get their apiVersion and kind, which lists leave out. */
  const listAll = async (
    kind: KindInfo,
    lister: Lister,
    fieldSelector: string | undefined,
    namespace: string | undefined,
  ): Promise<KubeObject[]> => {
    const objects: KubeObject[] = [];
    let continueToken: string | undefined;
    do {
      const params: ListParams = { limit: PAGE_SIZE };
      if (continueToken !== undefined) params._continue = continueToken;
      if (fieldSelector !== undefined) params.fieldSelector = fieldSelector;
      const page = await lister(apis, params, namespace);
      for (const item of page.items) {
        if (typeof item === "object" && item !== null) {
          objects.push({
            ...(item as Record<string, unknown>),
            apiVersion: apiVersionOf(kind),
            kind: kind.kind,
          });
        }
      }
      continueToken = page.continueToken;
      options.onProgress?.(done, total, kind, objects.length);
    } while (continueToken !== undefined);
    return objects;
  };
  /** A list that failed: fatal, or the failure to record (a refused CRD that discovery does not serve is a missing CRD). */
  const failureOf = async (error: unknown, kind: KindInfo): Promise<ApiFailure> => {
    const failure = classifyApiError(error);
    const fatal = fatalClusterError(failure, server);
    if (fatal) throw fatal;
    if (failure.type === "forbidden" && kind.crd && (await served(apis, kind)) === false) {
      return { type: "not found", message: failure.message };
    }
    return failure;
  };

  for (const request of requests) {
    const kind: KindInfo = KINDS[request.kind];
    const namespace = kind.namespaced ? options.namespace : undefined;
    options.onProgress?.(done, total, kind, 0);
    try {
      const objects = await listAll(kind, LISTERS[request.kind], request.fieldSelector, namespace);
      // A kind may take two requests (TLS and Helm release Secrets): their objects add up.
      snapshot.objects[request.kind] = [...(snapshot.objects[request.kind] ?? []), ...objects];
    } catch (error) {
      const failure = await failureOf(error, kind);
      const problem = describeFailure(request.kind, kind, failure, namespace);
      // The second request of a kind refused as the first adds no second error.
      if (problem && snapshot.unavailable[request.kind] === undefined) problems.push(problem);
      snapshot.unavailable[request.kind] =
        failure.type === "forbidden"
          ? "forbidden"
          : failure.type === "not found"
            ? "not served"
            : "not listed";
    }
    // Lists in a namespace that does not exist are empty, not 404: without this, a mistyped
    // --namespace would pass for a clean audit.
    if (
      request.kind === "Namespace" &&
      options.namespace !== undefined &&
      snapshot.objects.Namespace?.length === 0
    ) {
      throw new ClusterError(`namespace ${options.namespace} does not exist in the cluster at ${server}`);
    }
    done++;
  }

  if (templates.length > 0) {
    const listed = new Map<TemplateKey, KubeObject[]>();
    snapshot.templates = listed;
    const versions = await preferredVersions(kc, server);
    for (const template of templates) {
      const key = templateKey(template);
      const namespace = options.namespace;
      if (!(versions instanceof Map)) {
        problems.push({
          kind: key,
          message: `cannot read the served versions of ${template.group} (for ${template.kind}): ${versions.message}`,
          error: true,
        });
        done++;
        continue;
      }
      const version = versions.get(template.group);
      if (version === undefined) {
        problems.push({
          kind: key,
          message: `${template.group} ${template.kind} is not served (its CRD is not installed)`,
          error: false,
        });
        done++;
        continue;
      }
      const kind: KindInfo = { ...template, version };
      options.onProgress?.(done, total, kind, 0);
      try {
        listed.set(key, await listAll(kind, customLister(kind), undefined, namespace));
      } catch (error) {
        const problem = describeFailure(key, kind, await failureOf(error, kind), namespace);
        if (problem) problems.push(problem);
      }
      done++;
    }
  }
  options.onProgress?.(done, total, KINDS.Namespace, 0);
  return { snapshot, problems };
}

/**
 * The preferred version of every API group the cluster serves (GET /apis, once per audit), or why
 * it could not be read; an unreachable cluster or refused credentials throw.
 */
async function preferredVersions(kc: KubeConfig, server: string): Promise<Map<string, string> | ApiFailure> {
  try {
    const list = await kc.makeApiClient(ApisApi).getAPIVersions();
    const versions = new Map<string, string>();
    for (const group of list.groups ?? []) {
      const version = group.preferredVersion?.version ?? group.versions?.[0]?.version;
      if (version !== undefined) versions.set(group.name, version);
    }
    return versions;
  } catch (error) {
    const failure = classifyApiError(error);
    const fatal = fatalClusterError(failure, server);
    if (fatal) throw fatal;
    return failure;
  }
}
