import { resourceGaps } from "./resources.js";
import type { PodSpecTarget, RawFinding, Rule } from "./types.js";
import { containersOf, quote } from "./visit.js";
import { POD_SPEC_KINDS } from "../objects/kinds.js";

export const containerRequestsMissing: Rule<PodSpecTarget> = {
  id: "container-requests-missing",
  title: "Containers declare CPU and memory requests",
  category: "resources",
  defaultSeverity: "deny",
  targets: ["podSpec"],
  kinds: POD_SPEC_KINDS,
  description:
    "Without requests the scheduler places a Pod as if it needed nothing, so nodes are overcommitted and the Pod is the first to be evicted under pressure (QoS class BestEffort). Every container must request CPU and memory.",
  remediation: `Set requests from observed usage (for example the p95 of the last week):

\`\`\`yaml
containers:
  - name: web
    resources:
      requests:
        cpu: 100m
        memory: 128Mi
\`\`\``,
  check(target) {
    const findings: RawFinding[] = [];
    for (const visited of containersOf(target)) {
      // The API forbids resources on ephemeral containers: nothing to ask of them.
      if (visited.list === "ephemeralContainers") continue;
      const missing = resourceGaps(visited.container, "requests", ["cpu", "memory"]);
      if (missing.length === 0) continue;
      findings.push({
        path: `${visited.path}.resources.requests`,
        container: visited.name,
        message: `container ${quote(visited.name)} has no ${missing.map((m) => `requests.${m}`).join(" or ")}`,
        fix: `set resources.requests.${missing.join(" and resources.requests.")} on container ${quote(visited.name)}`,
      });
    }
    return findings;
  },
};
