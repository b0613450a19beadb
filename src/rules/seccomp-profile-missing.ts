import type { PodSpecTarget, RawFinding, Rule } from "./types.js";
import { containerSecurity, containersOf, isWindows, podMetaPath, podSecurity, quote } from "./visit.js";
import { POD_SPEC_KINDS } from "../objects/kinds.js";
import type { SeccompProfile } from "../objects/shapes.js";

/** The profile type a security context sets: undefined when unset, `""` when set without a type. */
function profileType(profile: SeccompProfile | undefined): string | undefined {
  return profile === undefined ? undefined : (profile.type ?? "");
}

function confined(type: string): boolean {
  return type === "RuntimeDefault" || type === "Localhost";
}

/** The annotations seccomp had before its fields (Kubernetes 1.19): ignored since v1.27. */
const LEGACY_POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod";
const LEGACY_CONTAINER_PREFIX = "container.seccomp.security.alpha.kubernetes.io/";
const IGNORED_SINCE = "v1.27";

export const seccompProfileMissing: Rule<PodSpecTarget> = {
  id: "seccomp-profile-missing",
  title: "Containers run under a seccomp profile",
  category: "security",
  defaultSeverity: "warn",
  targets: ["podSpec"],
  kinds: POD_SPEC_KINDS,
  description:
    "Without a seccomp profile a container can make every system call the kernel offers, including the ones most container escapes use. As in the Pod Security Standards' restricted profile, the pod or every container must set seccompProfile.type=RuntimeDefault, and none may set Unconfined. The annotations seccomp had before its fields (seccomp.security.alpha.kubernetes.io/pod, container.seccomp.security.alpha.kubernetes.io/<container>) are ignored since Kubernetes v1.27: a pod that sets only those is told so. Windows pods are exempt: seccomp is Linux-only.",
  remediation: `Set the runtime's default profile once, at pod level:

\`\`\`yaml
spec:
  securityContext:
    seccompProfile:
      type: RuntimeDefault
\`\`\``,
  check(target) {
    if (isWindows(target)) return [];
    const findings: RawFinding[] = [];
    const podType = profileType(podSecurity(target).seccompProfile);
    const annotations = target.podMeta.annotations ?? {};
    // A pod that sets seccomp only the old way believes it is confined: say why it is not, once,
    // where the fix is (one pod-level field), instead of once per container.
    const legacyOnly = podType === undefined && Object.hasOwn(annotations, LEGACY_POD_ANNOTATION);
    if (legacyOnly) {
      findings.push({
        path: `${podMetaPath(target)}.annotations[${LEGACY_POD_ANNOTATION}]`,
        message: `pod sets seccomp only by annotation, ignored since Kubernetes ${IGNORED_SINCE}`,
        fix: "set spec.securityContext.seccompProfile.type: RuntimeDefault (or Localhost) and remove the annotation",
      });
    }
    if (podType !== undefined && !confined(podType)) {
      findings.push({
        path: `${target.specPath}.securityContext.seccompProfile.type`,
        message: `pod sets seccompProfile.type=${podType || '""'}`,
        fix: "set spec.securityContext.seccompProfile.type: RuntimeDefault (or Localhost)",
      });
    }
    for (const visited of containersOf(target)) {
      const type = profileType(containerSecurity(visited.container).seccompProfile);
      const name = quote(visited.name);
      const path = `${visited.path}.securityContext.seccompProfile.type`;
      if (type === undefined) {
        // The pod-level profile applies; when it is set it was judged above.
        if (podType !== undefined || legacyOnly) continue;
        const legacy = `${LEGACY_CONTAINER_PREFIX}${visited.name}`;
        const why = Object.hasOwn(annotations, legacy) ? ` (annotation ignored since ${IGNORED_SINCE})` : "";
        findings.push({
          path,
          container: visited.name,
          message: `container ${name} must set seccompProfile.type=RuntimeDefault${why}`,
          fix: `set securityContext.seccompProfile.type: RuntimeDefault (or Localhost) on container ${name} or on the pod`,
        });
      } else if (!confined(type)) {
        findings.push({
          path,
          container: visited.name,
          message: `container ${name} sets seccompProfile.type=${type || '""'}`,
          fix: `set securityContext.seccompProfile.type: RuntimeDefault on container ${name}`,
        });
      }
    }
    return findings;
  },
};
