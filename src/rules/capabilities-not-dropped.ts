import type { PodSpecTarget, RawFinding, Rule } from "./types.js";
import { containerSecurity, containersOf, isWindows, quote } from "./visit.js";
import { POD_SPEC_KINDS } from "../objects/kinds.js";

export const capabilitiesNotDropped: Rule<PodSpecTarget> = {
  id: "capabilities-not-dropped",
  title: "Containers drop all Linux capabilities",
  category: "security",
  defaultSeverity: "warn",
  targets: ["podSpec"],
  kinds: POD_SPEC_KINDS,
  description:
    "Container runtimes grant a default set of capabilities (CHOWN, SETUID, NET_RAW…) that most services never use and attackers do. As in the Pod Security Standards' restricted profile, every container must list ALL in capabilities.drop, then add back only NET_BIND_SERVICE if it needs it. Windows pods are exempt: capabilities are Linux-only.",
  remediation: `Drop every capability; add back only what the process needs:

\`\`\`yaml
containers:
  - name: web
    securityContext:
      capabilities:
        drop: ["ALL"]
\`\`\``,
  check(target) {
    if (isWindows(target)) return [];
    const findings: RawFinding[] = [];
    for (const visited of containersOf(target)) {
      if (containerSecurity(visited.container).capabilities?.drop?.includes("ALL")) continue;
      const name = quote(visited.name);
      findings.push({
        path: `${visited.path}.securityContext.capabilities.drop`,
        container: visited.name,
        message: `container ${name} must set capabilities.drop=["ALL"]`,
        fix: `add "ALL" to securityContext.capabilities.drop of container ${name}`,
      });
    }
    return findings;
  },
};
