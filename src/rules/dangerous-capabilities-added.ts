import type { PodSpecTarget, RawFinding, Rule } from "./types.js";
import { containerSecurity, containersOf, isWindows, quote } from "./visit.js";
import { POD_SPEC_KINDS } from "../objects/kinds.js";

/** The one capability the restricted profile lets a container add back. */
const ALLOWED = "NET_BIND_SERVICE";

export const dangerousCapabilitiesAdded: Rule<PodSpecTarget> = {
  id: "dangerous-capabilities-added",
  title: "Containers add no capability but NET_BIND_SERVICE",
  category: "security",
  defaultSeverity: "deny",
  targets: ["podSpec"],
  kinds: POD_SPEC_KINDS,
  description:
    "Capabilities such as SYS_ADMIN, NET_ADMIN or SYS_PTRACE give a container powers over the node's kernel, network or other processes. The Pod Security Standards' restricted profile allows adding back only NET_BIND_SERVICE (to bind ports below 1024). Windows pods are exempt: capabilities are Linux-only.",
  remediation: `Add back only NET_BIND_SERVICE, after dropping everything:

\`\`\`yaml
containers:
  - name: web
    securityContext:
      capabilities:
        drop: ["ALL"]
        add: ["NET_BIND_SERVICE"]
\`\`\``,
  check(target) {
    if (isWindows(target)) return [];
    const findings: RawFinding[] = [];
    for (const visited of containersOf(target)) {
      const added = containerSecurity(visited.container).capabilities?.add?.filter((cap) => cap !== ALLOWED);
      if (added === undefined || added.length === 0) continue;
      const name = quote(visited.name);
      const list = added.join(", ");
      findings.push({
        path: `${visited.path}.securityContext.capabilities.add`,
        container: visited.name,
        message: `container ${name} must not add capabilit${added.length > 1 ? "ies" : "y"} ${list}`,
        fix: `remove ${list} from securityContext.capabilities.add of container ${name}; only ${ALLOWED} may be added`,
      });
    }
    return findings;
  },
};
