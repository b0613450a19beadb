import type { PodSpecTarget, RawFinding, Rule } from "./types.js";
import { containerSecurity, containersOf, isWindows, podSecurity, quote } from "./visit.js";
import { POD_SPEC_KINDS } from "../objects/kinds.js";
import type { SeccompProfile } from "../objects/shapes.js";

/** The profile type a security context sets: undefined when unset, `""` when set without a type. */
function profileType(profile: SeccompProfile | undefined): string | undefined {
  return profile === undefined ? undefined : (profile.type ?? "");
}

function confined(type: string): boolean {
  return type === "RuntimeDefault" || type === "Localhost";
}

export const seccompProfileMissing: Rule<PodSpecTarget> = {
  id: "seccomp-profile-missing",
  title: "Containers run under a seccomp profile",
  category: "security",
  defaultSeverity: "warn",
  targets: ["podSpec"],
  kinds: POD_SPEC_KINDS,
  description:
    "Without a seccomp profile a container can make every system call the kernel offers, including the ones most container escapes use. As in the Pod Security Standards' restricted profile, the pod or every container must set seccompProfile.type=RuntimeDefault, and none may set Unconfined. Windows pods are exempt: seccomp is Linux-only.",
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
        if (podType !== undefined) continue;
        findings.push({
          path,
          container: visited.name,
          message: `container ${name} must set seccompProfile.type=RuntimeDefault`,
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
