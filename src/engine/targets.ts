import type {
  V1ClusterRoleBinding,
  V1Namespace,
  V1ObjectMeta,
  V1PodSpec,
  V1PolicyRule,
  V1Secret,
  V1ServiceAccount,
} from "@kubernetes/client-node";
import type { ObjectRef, Target } from "../rules/types.js";
import { isRecord } from "../rules/visit.js";

/** A Kubernetes object as it arrives: only apiVersion, kind and metadata are trusted to exist. */
export type KubeObject = Record<string, unknown>;

/** Where the pod spec sits in each workload kind, keyed by `group/kind`. */
const POD_SPEC_PATHS: Record<string, readonly string[]> = {
  "/Pod": ["spec"],
  "/PodTemplate": ["template", "spec"],
  "/ReplicationController": ["spec", "template", "spec"],
  "apps/Deployment": ["spec", "template", "spec"],
  "apps/StatefulSet": ["spec", "template", "spec"],
  "apps/DaemonSet": ["spec", "template", "spec"],
  "apps/ReplicaSet": ["spec", "template", "spec"],
  "batch/Job": ["spec", "template", "spec"],
  "batch/CronJob": ["spec", "jobTemplate", "spec", "template", "spec"],
};

/**
 * Kinds whose controller owns objects whose template tollgate has already judged, with their API
 * group: an owner reference names a kind by `apiVersion` and `kind`, and `evil.example.com/v1
 * Deployment` is not a Deployment.
 */
export const POD_CONTROLLER_KINDS: ReadonlyMap<string, string> = new Map([
  ["CronJob", "batch"],
  ["DaemonSet", "apps"],
  ["Deployment", "apps"],
  ["Job", "batch"],
  ["ReplicaSet", "apps"],
  ["ReplicationController", ""],
  ["StatefulSet", "apps"],
]);

const RBAC = "rbac.authorization.k8s.io";

/** The API group of an `apiVersion` (`apps/v1` → `apps`, `v1` → ``). */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash === -1 ? "" : apiVersion.slice(0, slash);
}

function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

export function metadataOf(object: KubeObject): V1ObjectMeta {
  return isRecord(object.metadata) ? (object.metadata as V1ObjectMeta) : {};
}

/** The identity every finding carries. `namespace` is the request's when the object has none. */
export function refOf(object: KubeObject, fallbackNamespace = ""): ObjectRef {
  const meta = metadataOf(object);
  const kind = text(object.kind);
  return {
    apiVersion: text(object.apiVersion),
    kind,
    // The apiserver sets a Namespace's own name as the request's namespace; the object has none.
    namespace: kind === "Namespace" ? "" : text(meta.namespace) || fallbackNamespace,
    name: text(meta.name) || text(meta.generateName),
  };
}

function dig(object: KubeObject, path: readonly string[]): unknown {
  let current: unknown = object;
  for (const key of path) {
    if (!isRecord(current)) return undefined;
    current = current[key];
  }
  return current;
}

function replicasOf(object: KubeObject, kind: string): number | undefined {
  if (kind === "Pod") return 1;
  if (kind === "DaemonSet" || kind === "Job" || kind === "CronJob" || kind === "PodTemplate")
    return undefined;
  const replicas = dig(object, ["spec", "replicas"]);
  // The apiserver defaults replicas to 1 when absent.
  return typeof replicas === "number" ? replicas : 1;
}

/** Does an owner reference's `apiVersion` name `group`? The core group's only version is `v1`. */
function ownerGroupIs(apiVersion: string, group: string): boolean {
  return group === ""
    ? apiVersion === "v1"
    : apiVersion.startsWith(`${group}/`) && !apiVersion.slice(group.length + 1).includes("/");
}

/**
 * The kind of the workload that controls this object, when it is one whose template tollgate
 * checks (matched on API group and kind). Says nothing about whether that owner exists: the
 * ownerReferences are written by whoever writes the object.
 */
export function controllerOf(object: KubeObject): string | undefined {
  const owners = metadataOf(object).ownerReferences;
  if (!Array.isArray(owners)) return undefined;
  for (const owner of owners) {
    if (!isRecord(owner) || owner.controller !== true) continue;
    const kind = text(owner.kind);
    const group = POD_CONTROLLER_KINDS.get(kind);
    if (group !== undefined && ownerGroupIs(text(owner.apiVersion), group)) return kind;
  }
  return undefined;
}

/**
 * What the rules look at in an object: its pod spec, RBAC rules, binding, Namespace,
 * ServiceAccount or Secret. Kinds tollgate has no rule for give no target.
 */
export function extractTargets(object: KubeObject, fallbackNamespace = ""): Target[] {
  const ref = refOf(object, fallbackNamespace);
  const key = `${groupOf(ref.apiVersion)}/${ref.kind}`;
  const podPath = POD_SPEC_PATHS[key];
  if (podPath) {
    const spec = dig(object, podPath);
    if (!isRecord(spec)) return [];
    const metaPath = [...podPath.slice(0, -1), "metadata"];
    const podMeta = ref.kind === "Pod" ? metadataOf(object) : dig(object, metaPath);
    return [
      {
        type: "podSpec",
        object: ref,
        podMeta: isRecord(podMeta) ? (podMeta as V1ObjectMeta) : {},
        spec: spec as unknown as V1PodSpec,
        specPath: podPath.join("."),
        workloadKind: ref.kind,
        runsToCompletion: ref.kind === "Job" || ref.kind === "CronJob",
        replicas: replicasOf(object, ref.kind),
      },
    ];
  }
  switch (key) {
    case `${RBAC}/Role`:
    case `${RBAC}/ClusterRole`: {
      const rules = Array.isArray(object.rules) ? (object.rules as V1PolicyRule[]) : [];
      return [{ type: "rbacRules", object: ref, rules }];
    }
    case `${RBAC}/RoleBinding`:
    case `${RBAC}/ClusterRoleBinding`:
      return [{ type: "binding", object: ref, binding: object as unknown as V1ClusterRoleBinding }];
    case "/Namespace":
      return [{ type: "namespace", object: ref, namespace: object as unknown as V1Namespace }];
    case "/ServiceAccount":
      return [{ type: "serviceAccount", object: ref, serviceAccount: object as unknown as V1ServiceAccount }];
    case "/Secret":
      return [{ type: "secret", object: ref, secret: object as unknown as V1Secret }];
    default:
      return [];
  }
}
