import type { PodSpecTarget, Rule } from "./types.js";
import { WORKLOAD_KINDS } from "../objects/kinds.js";
import { isRecord } from "../objects/object.js";

/** Keys that required node affinity selects on. */
function affinityKeys(affinity: unknown): string[] {
  if (!isRecord(affinity) || !isRecord(affinity.nodeAffinity)) return [];
  const required = affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution;
  if (!isRecord(required) || !Array.isArray(required.nodeSelectorTerms)) return [];
  const keys: string[] = [];
  for (const term of required.nodeSelectorTerms) {
    if (!isRecord(term) || !Array.isArray(term.matchExpressions)) continue;
    for (const expression of term.matchExpressions) {
      if (isRecord(expression) && typeof expression.key === "string") keys.push(expression.key);
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
    const selector: unknown = target.spec.nodeSelector;
    if (isRecord(selector) && keys.some((key) => key in selector)) return [];
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
