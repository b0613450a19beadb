import type { PodSpecTarget, RawFinding, Rule } from "./types.js";
import { containerSecurity, containersOf, quote } from "./visit.js";
import { POD_SPEC_KINDS } from "../objects/kinds.js";

export const procMountUnmasked: Rule<PodSpecTarget> = {
  id: "proc-mount-unmasked",
  title: "Containers keep /proc masked",
  category: "security",
  defaultSeverity: "deny",
  targets: ["podSpec"],
  kinds: POD_SPEC_KINDS,
  description:
    "The default /proc mount masks paths such as /proc/kcore and /proc/sys that reveal or change the node's kernel. procMount must be unset or Default; like the Pod Security Standards' restricted profile, tollgate also refuses Unmasked for pods in a user namespace (hostUsers: false).",
  remediation: `Leave procMount unset, or set it to Default:

\`\`\`yaml
containers:
  - name: web
    securityContext:
      procMount: Default
\`\`\``,
  check(target) {
    const findings: RawFinding[] = [];
    for (const visited of containersOf(target)) {
      const procMount = containerSecurity(visited.container).procMount;
      if (procMount === undefined || procMount === null || procMount === "Default") continue;
      const name = quote(visited.name);
      findings.push({
        path: `${visited.path}.securityContext.procMount`,
        container: visited.name,
        message: `container ${name} sets securityContext.procMount=${String(procMount)}`,
        fix: `remove securityContext.procMount from container ${name} (Default masks /proc)`,
      });
    }
    return findings;
  },
};
