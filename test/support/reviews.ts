/** AdmissionReview v1 requests as the apiserver sends them, for tests. */

export interface ReviewOptions {
  uid?: string;
  operation?: "CREATE" | "UPDATE" | "DELETE" | "CONNECT";
  namespace?: string;
  oldObject?: Record<string, unknown> | null;
  subResource?: string;
  dryRun?: boolean;
  username?: string;
  groups?: string[];
}

const GROUPS: Record<string, string> = {
  Deployment: "apps",
  StatefulSet: "apps",
  DaemonSet: "apps",
  ReplicaSet: "apps",
  Job: "batch",
  CronJob: "batch",
  Role: "rbac.authorization.k8s.io",
  ClusterRole: "rbac.authorization.k8s.io",
  RoleBinding: "rbac.authorization.k8s.io",
  ClusterRoleBinding: "rbac.authorization.k8s.io",
};

export function review(object: Record<string, unknown> | null, options: ReviewOptions = {}) {
  const source = object ?? options.oldObject ?? {};
  const kind = String(source.kind ?? "Pod");
  const metadata = (source.metadata ?? {}) as { name?: string; namespace?: string };
  const group = GROUPS[kind] ?? "";
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: options.uid ?? "705ab4f5-6393-11e8-b7cc-42010a800002",
      kind: { group, version: "v1", kind },
      resource: { group, version: "v1", resource: `${kind.toLowerCase()}s` },
      ...(options.subResource ? { subResource: options.subResource } : {}),
      name: metadata.name ?? "",
      ...(options.namespace || metadata.namespace
        ? { namespace: options.namespace ?? metadata.namespace }
        : {}),
      operation: options.operation ?? "CREATE",
      userInfo: { username: options.username ?? "alice", groups: options.groups ?? ["system:authenticated"] },
      object,
      oldObject: options.oldObject ?? null,
      dryRun: options.dryRun ?? false,
    },
  };
}

/** A Pod that runs as root with no requests or limits: three deny findings, one warning. */
export function rootPod(name = "web"): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "team-a" },
    spec: { containers: [{ name: "web", image: "registry.example.com/web:1.4.2" }] },
  };
}

/** A Pod that passes every rule tollgate ships. */
export function compliantPod(name = "web"): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "team-a" },
    spec: {
      serviceAccountName: "web",
      automountServiceAccountToken: false,
      securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: "RuntimeDefault" } },
      containers: [
        {
          name: "web",
          image: "registry.example.com/web:1.4.2",
          resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
          securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"] },
          },
          livenessProbe: { httpGet: { path: "/healthz", port: 8080 } },
          readinessProbe: { httpGet: { path: "/readyz", port: 8080 } },
        },
      ],
    },
  };
}
