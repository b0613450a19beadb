/** Manifests the end-to-end tests and the demo apply, and the exact output tollgate gives for them. */

/** A Pod that runs as root, with no requests or limits: four deny findings in enforce mode. */
export function rootPod(name: string, container = "web"): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  containers:
    - name: ${container}
      image: registry.example/web:1.0
`;
}

/** A Pod with no deny finding (it still gets warnings: default ServiceAccount, no NetworkPolicy). */
export function compliantPod(name: string): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  automountServiceAccountToken: false
  securityContext:
    runAsNonRoot: true
    seccompProfile: { type: RuntimeDefault }
  containers:
    - name: web
      image: registry.example/web:1.0
      resources:
        requests: { cpu: 100m, memory: 64Mi }
        limits: { cpu: 500m, memory: 128Mi }
      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        capabilities: { drop: [ALL] }
      livenessProbe: { httpGet: { path: /healthz, port: 8080 } }
      readinessProbe: { httpGet: { path: /readyz, port: 8080 } }
`;
}

/** The four deny findings of `rootPod`, as lines of the denial message. */
export function rootPodDenials(container: string, prefix = "spec"): string[] {
  const at = `${prefix}.containers[name=${container}]`;
  const c = JSON.stringify(container);
  return [
    `- container-requests-missing: container ${c} has no requests.cpu or requests.memory at ${at}.resources.requests. Fix: set resources.requests.cpu and resources.requests.memory on container ${c}`,
    `- container-limits-missing: container ${c} has no limits.cpu or limits.memory at ${at}.resources.limits. Fix: set resources.limits.cpu and resources.limits.memory on container ${c}`,
    `- run-as-root: container ${c} must set securityContext.runAsNonRoot=true at ${at}.securityContext.runAsNonRoot. Fix: set securityContext.runAsNonRoot: true on container ${c} or on the pod`,
    `- privilege-escalation-allowed: container ${c} must set allowPrivilegeEscalation=false at ${at}.securityContext.allowPrivilegeEscalation. Fix: set securityContext.allowPrivilegeEscalation: false on container ${c}`,
  ];
}

/**
 * The warnings of `rootPod` in enforce mode (its findings whose severity is warn), as kubectl prints
 * them. With `prefix` "spec" (a Pod), the apiserver's ServiceAccount admission plugin has already set
 * `serviceAccountName: default` when tollgate sees it; a workload's template names none.
 */
export function rootPodWarnings(namespace: string, container = "web", prefix = "spec"): string[] {
  const at = `${prefix}.containers[name=${container}]`;
  const c = JSON.stringify(container);
  const account =
    prefix === "spec" ? 'names the "default" ServiceAccount' : "uses the default ServiceAccount (none named)";
  return [
    `Warning: capabilities-not-dropped: container ${c} must set capabilities.drop=["ALL"] (${at})`,
    `Warning: seccomp-profile-missing: container ${c} must set seccompProfile.type=RuntimeDefault (${at})`,
    `Warning: writable-root-filesystem: container ${c} must set readOnlyRootFilesystem=true (${at})`,
    `Warning: default-service-account: pod ${account} (${prefix}.serviceAccountName)`,
    `Warning: service-account-token-automounted: pod must set automountServiceAccountToken=false (${prefix}.automountServiceAccountToken)`,
    `Warning: liveness-probe-missing: container ${c} has no livenessProbe (${at})`,
    `Warning: readiness-probe-missing: container ${c} has no readinessProbe (${at})`,
    `Warning: networkpolicy-missing: namespace ${JSON.stringify(namespace)} has no default-deny ingress NetworkPolicy (metadata.namespace)`,
  ];
}

/**
 * The warnings of `rootPod` (or a workload with its container at `prefix`) in warn mode, or of
 * findings the ratchet let through: every finding, the deny ones first, as kubectl prints them.
 */
export function rootPodWarnModeWarnings(namespace: string, container = "web", prefix = "spec"): string[] {
  const at = `${prefix}.containers[name=${container}]`;
  const c = JSON.stringify(container);
  return [
    `Warning: container-requests-missing: container ${c} has no requests.cpu or requests.memory (${at})`,
    `Warning: container-limits-missing: container ${c} has no limits.cpu or limits.memory (${at})`,
    `Warning: run-as-root: container ${c} must set securityContext.runAsNonRoot=true (${at})`,
    `Warning: privilege-escalation-allowed: container ${c} must set allowPrivilegeEscalation=false (${at})`,
    ...rootPodWarnings(namespace, container, prefix),
  ];
}

/** The full stderr of kubectl when tollgate denies `rootPod` in an enforce namespace. */
export function rootPodDenialStderr(
  namespace: string,
  name: string,
  { container = "web", verb = "creating" }: { container?: string; verb?: string } = {},
): string {
  return [
    ...rootPodWarnings(namespace, container),
    `Error from server (Forbidden): error when ${verb} "STDIN": admission webhook "enforce.tollgate.dev" denied the request: tollgate: Pod ${JSON.stringify(name)} in namespace ${JSON.stringify(namespace)} has 4 violations:`,
    ...rootPodDenials(container),
    "",
  ].join("\n");
}

/** A minimal structural CRD for Argo Rollouts' Rollout, every field kept as written (the podTemplates tests). */
export const ROLLOUT_CRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: rollouts.argoproj.io
spec:
  group: argoproj.io
  names: { kind: Rollout, listKind: RolloutList, plural: rollouts, singular: rollout }
  scope: Namespaced
  versions:
    - name: v1alpha1
      served: true
      storage: true
      subresources: { status: {} }
      schema:
        openAPIV3Schema: { type: object, x-kubernetes-preserve-unknown-fields: true }
`;
