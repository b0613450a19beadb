import type { PodSpecTarget, Rule } from "./types.js";
import { WORKLOAD_KINDS } from "../objects/kinds.js";
import type { Affinity } from "../objects/shapes.js";

/** Keys that required node affinity selects on. */
function affinityKeys(affinity: Affinity | undefined): string[] {
  const keys: string[] = [];
  const terms = affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  for (const term of terms ?? []) {
    for (const expression of term.matchExpressions ?? []) {
      if (expression.key !== undefined) keys.push(expression.key);
    }
  }
  return keys;
}

export const nodePlacementMissing: Rule<PodSpecTarget> = {
  id: "node-placement-missing",
  title: "Workloads say which node pool they run on",
  category: "scheduling",
  defaultSeverity: "off",
  targets: ["podSpec"],
  kinds: WORKLOAD_KINDS,
  description:
    "In clusters split into node pools (system, general, GPU, spot), a workload that names no pool lands wherever there is room: on the system nodes, on expensive GPU nodes, or on spot nodes it cannot survive. When `nodePoolKeys` lists the node label keys that mark pools, every workload must select on one of them with nodeSelector or required node affinity. Off by default: turn it on once the keys are set.",
  remediation: `Select a pool by one of the configured keys:

\`\`\`yaml
# config
nodePoolKeys: ["node-pool"]
rules:
  node-placement-missing:
    severity: warn
---
# pod spec
nodeSelector:
  node-pool: general
\`\`\``,
  check(target, ctx) {
    const keys = ctx.nodePoolKeys;
    if (keys.length === 0) return [];
    const selector = target.spec.nodeSelector;
    if (selector !== undefined && keys.some((key) => key in selector)) return [];
    if (affinityKeys(target.spec.affinity).some((key) => keys.includes(key))) return [];
    return [
      {
        path: `${target.specPath}.nodeSelector`,
        message: `pod selects no node pool by ${keys.join(" or ")}`,
        fix: `set nodeSelector on one of ${keys.join(", ")} to pick the node pool`,
      },
    ];
  },
};
