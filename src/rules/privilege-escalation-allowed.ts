import type { PodSpecTarget, RawFinding, Rule } from "./types.js";
import { containerSecurity, containersOf, isWindows, quote } from "./visit.js";
import { POD_SPEC_KINDS } from "../objects/kinds.js";

export const privilegeEscalationAllowed: Rule<PodSpecTarget> = {
  id: "privilege-escalation-allowed",
  title: "Containers cannot gain more privileges than their parent process",
  category: "security",
  defaultSeverity: "deny",
  targets: ["podSpec"],
  kinds: POD_SPEC_KINDS,
  description:
    "Unless allowPrivilegeEscalation is false, a process can gain privileges through setuid binaries or file capabilities (no_new_privs is not set). The Pod Security Standards' restricted profile requires every container, init and ephemeral ones included, to set it to false. Windows pods are exempt: the control is Linux-only.",
  remediation: `Set allowPrivilegeEscalation to false on every container:

\`\`\`yaml
containers:
  - name: web
    securityContext:
      allowPrivilegeEscalation: false
\`\`\``,
  check(target) {
    if (isWindows(target)) return [];
    const findings: RawFinding[] = [];
    for (const visited of containersOf(target)) {
      if (containerSecurity(visited.container).allowPrivilegeEscalation === false) continue;
      const name = quote(visited.name);
      findings.push({
        path: `${visited.path}.securityContext.allowPrivilegeEscalation`,
        container: visited.name,
        message: `container ${name} must set allowPrivilegeEscalation=false`,
        fix: `set securityContext.allowPrivilegeEscalation: false on container ${name}`,
      });
    }
    return findings;
  },
};
