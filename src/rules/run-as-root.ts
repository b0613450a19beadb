import type { PodSpecTarget, RawFinding, Rule } from "./types.js";
import { containerSecurity, containersOf, podSecurity, quote } from "./visit.js";
import { POD_SPEC_KINDS } from "../objects/kinds.js";

export const runAsRoot: Rule<PodSpecTarget> = {
  id: "run-as-root",
  title: "Containers do not run as root",
  category: "security",
  defaultSeverity: "deny",
  targets: ["podSpec"],
  kinds: POD_SPEC_KINDS,
  description:
    "A process running as UID 0 inside a container is root on the node as soon as it escapes the container. As in the Pod Security Standards' restricted profile, runAsNonRoot must be true at pod level or in every container (a container-level false overrides the pod), and runAsUser must never be 0.",
  remediation: `Run as a non-root user, at pod level so every container inherits it:

\`\`\`yaml
spec:
  securityContext:
    runAsNonRoot: true
    runAsUser: 10001
\`\`\``,
  check(target) {
    const findings: RawFinding[] = [];
    const pod = podSecurity(target);
    const podPath = `${target.specPath}.securityContext`;
    if (pod.runAsNonRoot === false) {
      findings.push({
        path: `${podPath}.runAsNonRoot`,
        message: "pod sets securityContext.runAsNonRoot=false",
        fix: "set spec.securityContext.runAsNonRoot: true",
      });
    }
    if (pod.runAsUser === 0) {
      findings.push({
        path: `${podPath}.runAsUser`,
        message: "pod sets securityContext.runAsUser=0 (root)",
        fix: "set spec.securityContext.runAsUser to a non-zero UID, e.g. 10001",
      });
    }
    for (const visited of containersOf(target)) {
      const sc = containerSecurity(visited.container);
      const name = quote(visited.name);
      // A pod-level false was already reported; report containers that fail on their own account.
      const effective = sc.runAsNonRoot ?? pod.runAsNonRoot;
      if (effective !== true && !(pod.runAsNonRoot === false && sc.runAsNonRoot === undefined)) {
        findings.push({
          path: `${visited.path}.securityContext.runAsNonRoot`,
          container: visited.name,
          message: `container ${name} must set securityContext.runAsNonRoot=true`,
          fix: `set securityContext.runAsNonRoot: true on container ${name} or on the pod`,
        });
      }
      if (sc.runAsUser === 0) {
        findings.push({
          path: `${visited.path}.securityContext.runAsUser`,
          container: visited.name,
          message: `container ${name} sets securityContext.runAsUser=0 (root)`,
          fix: `set securityContext.runAsUser to a non-zero UID on container ${name}`,
        });
      }
    }
    return findings;
  },
};
