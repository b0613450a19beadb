import { resourceGaps } from "./resources.js";
import type { PodSpecTarget, RawFinding, Rule } from "./types.js";
import { containersOf, quote } from "./visit.js";
import { POD_SPEC_KINDS } from "../objects/kinds.js";

export const containerLimitsMissing: Rule<PodSpecTarget> = {
  id: "container-limits-missing",
  title: "Containers declare memory and CPU limits",
  category: "resources",
  defaultSeverity: "deny",
  targets: ["podSpec"],
  kinds: POD_SPEC_KINDS,
  description:
    "A container without a memory limit can take a node's memory until the kernel kills other workloads; without a CPU limit it can starve its neighbours. Every container must set limits.memory, and limits.cpu unless the option requireCpuLimit is false (for teams that rely on CPU requests and shares alone).",
  remediation: `Set limits at or above the requests:

\`\`\`yaml
containers:
  - name: web
    resources:
      limits:
        cpu: 500m
        memory: 256Mi
\`\`\``,
  defaultOptions: { requireCpuLimit: true },
  check(target, ctx) {
    const wanted = ctx.options.requireCpuLimit === false ? ["memory"] : ["cpu", "memory"];
    const findings: RawFinding[] = [];
    for (const visited of containersOf(target)) {
      if (visited.list === "ephemeralContainers") continue;
      const missing = resourceGaps(visited.container, "limits", wanted);
      if (missing.length === 0) continue;
      findings.push({
        path: `${visited.path}.resources.limits`,
        container: visited.name,
        message: `container ${quote(visited.name)} has no ${missing.map((m) => `limits.${m}`).join(" or ")}`,
        fix: `set resources.limits.${missing.join(" and resources.limits.")} on container ${quote(visited.name)}`,
      });
    }
    return findings;
  },
};
