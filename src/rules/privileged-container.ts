import type { PodSpecTarget, RawFinding, Rule } from "./types.js";
import { containerSecurity, containersOf, quote } from "./visit.js";
import { POD_SPEC_KINDS } from "../objects/kinds.js";

export const privilegedContainer: Rule<PodSpecTarget> = {
  id: "privileged-container",
  title: "No privileged containers",
  category: "security",
  defaultSeverity: "deny",
  targets: ["podSpec"],
  kinds: POD_SPEC_KINDS,
  description:
    "A privileged container has every capability and access to every device of the node: it is the node. The Pod Security Standards forbid it from the baseline profile up.",
  remediation: `Remove privileged and add only the capability the process needs:

\`\`\`yaml
securityContext:
  privileged: false
  capabilities:
    drop: ["ALL"]
    add: ["NET_BIND_SERVICE"]
\`\`\``,
  check(target) {
    const findings: RawFinding[] = [];
    for (const visited of containersOf(target)) {
      if (containerSecurity(visited.container).privileged !== true) continue;
      const name = quote(visited.name);
      findings.push({
        path: `${visited.path}.securityContext.privileged`,
        container: visited.name,
        message: `container ${name} sets securityContext.privileged=true`,
        fix: `remove securityContext.privileged from container ${name}; add only the capabilities it needs`,
      });
    }
    return findings;
  },
};
