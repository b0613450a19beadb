import type { KubeObject } from "../engine/targets.js";

/** Every kind `audit` may list, with where it lives in the API. */
export interface ResourceKind {
  kind: string;
  apiVersion: string;
  /** The resource name, as RBAC and error messages call it. */
  plural: string;
  namespaced: boolean;
  /** Served by a CRD that may not be installed. */
  crd?: boolean;
}

export const KINDS = {
  Namespace: { kind: "Namespace", apiVersion: "v1", plural: "namespaces", namespaced: false },
  Pod: { kind: "Pod", apiVersion: "v1", plural: "pods", namespaced: true },
  PodTemplate: { kind: "PodTemplate", apiVersion: "v1", plural: "podtemplates", namespaced: true },
  ReplicationController: {
    kind: "ReplicationController",
    apiVersion: "v1",
    plural: "replicationcontrollers",
    namespaced: true,
  },
  ServiceAccount: { kind: "ServiceAccount", apiVersion: "v1", plural: "serviceaccounts", namespaced: true },
  Secret: { kind: "Secret", apiVersion: "v1", plural: "secrets", namespaced: true },
  LimitRange: { kind: "LimitRange", apiVersion: "v1", plural: "limitranges", namespaced: true },
  ResourceQuota: { kind: "ResourceQuota", apiVersion: "v1", plural: "resourcequotas", namespaced: true },
  Deployment: { kind: "Deployment", apiVersion: "apps/v1", plural: "deployments", namespaced: true },
  StatefulSet: { kind: "StatefulSet", apiVersion: "apps/v1", plural: "statefulsets", namespaced: true },
  DaemonSet: { kind: "DaemonSet", apiVersion: "apps/v1", plural: "daemonsets", namespaced: true },
  ReplicaSet: { kind: "ReplicaSet", apiVersion: "apps/v1", plural: "replicasets", namespaced: true },
  Job: { kind: "Job", apiVersion: "batch/v1", plural: "jobs", namespaced: true },
  CronJob: { kind: "CronJob", apiVersion: "batch/v1", plural: "cronjobs", namespaced: true },
  NetworkPolicy: {
    kind: "NetworkPolicy",
    apiVersion: "networking.k8s.io/v1",
    plural: "networkpolicies",
    namespaced: true,
  },
  PodDisruptionBudget: {
    kind: "PodDisruptionBudget",
    apiVersion: "policy/v1",
    plural: "poddisruptionbudgets",
    namespaced: true,
  },
  Role: { kind: "Role", apiVersion: "rbac.authorization.k8s.io/v1", plural: "roles", namespaced: true },
  ClusterRole: {
    kind: "ClusterRole",
    apiVersion: "rbac.authorization.k8s.io/v1",
    plural: "clusterroles",
    namespaced: false,
  },
  RoleBinding: {
    kind: "RoleBinding",
    apiVersion: "rbac.authorization.k8s.io/v1",
    plural: "rolebindings",
    namespaced: true,
  },
  ClusterRoleBinding: {
    kind: "ClusterRoleBinding",
    apiVersion: "rbac.authorization.k8s.io/v1",
    plural: "clusterrolebindings",
    namespaced: false,
  },
  ValidatingWebhookConfiguration: {
    kind: "ValidatingWebhookConfiguration",
    apiVersion: "admissionregistration.k8s.io/v1",
    plural: "validatingwebhookconfigurations",
    namespaced: false,
  },
  Schedule: {
    kind: "Schedule",
    apiVersion: "velero.io/v1",
    plural: "schedules",
    namespaced: true,
    crd: true,
  },
  Prometheus: {
    kind: "Prometheus",
    apiVersion: "monitoring.coreos.com/v1",
    plural: "prometheuses",
    namespaced: true,
    crd: true,
  },
} as const satisfies Record<string, ResourceKind>;

export type KindName = keyof typeof KINDS;

/** Why a kind has no listing: the API refused it, or does not serve it (CRD not installed). */
export type Unavailable = "forbidden" | "not served" | "not listed";

export interface ServerVersion {
  major: string;
  minor: string;
  gitVersion: string;
}

/** What the lister read from the cluster; the checklist and the rules run over it, without I/O. */
export interface ClusterSnapshot {
  objects: Partial<Record<KindName, KubeObject[]>>;
  unavailable: Partial<Record<KindName, Unavailable>>;
  version?: ServerVersion;
  /** The namespace the audit was limited to (`--namespace`), if any. */
  namespace?: string;
}

/** The group of a kind, as RBAC names it (`core` for the empty group). */
export function groupName(kind: ResourceKind): string {
  const slash = kind.apiVersion.indexOf("/");
  return slash === -1 ? "core" : kind.apiVersion.slice(0, slash);
}
