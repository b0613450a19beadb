import type { ReportFinding } from "../../report/model.js";
import { applicationWorkloads, PLACED_KINDS, selectedKeys } from "./placement.js";
import { finding } from "./shared.js";
import type { Check } from "./types.js";

export const workloadNodePoolMissing: Check = {
  id: "workload-node-pool-missing",
  title: "Application workloads pick their node pool",
  category: "cluster",
  defaultSeverity: "warn",
  sources: ["audit"],
  description:
    "When `nodePoolKeys` lists the node label keys that mark node pools, every application workload running in the cluster (outside the excluded namespaces; DaemonSets, which run on every node, and Pods a controller owns are not judged) selects a pool with a nodeSelector or required node affinity on one of those keys, so that it stays off the system pool and off pools it was not meant for. Without `nodePoolKeys` nothing is checked. The rule node-placement-missing judges the same at admission; where it is on and reports an object, its finding stands for this one.",
  remediation: `Set the keys in the config, and select a pool in each workload's pod spec:

\`\`\`yaml
# config
nodePoolKeys: ["node-pool"]
---
# pod spec
nodeSelector:
  node-pool: general
\`\`\``,
  needs: PLACED_KINDS,
  coveredBy: "node-placement-missing",
  namespaceScoped: true,
  run(snapshot, { config }) {
    const keys = config.nodePoolKeys;
    if (keys.length === 0) return [];
    const findings: ReportFinding[] = [];
    for (const { kind, ref, spec, specPath } of applicationWorkloads(snapshot, config)) {
      if (selectedKeys(spec).some((key) => keys.includes(key))) continue;
      findings.push(
        finding(
          workloadNodePoolMissing,
          ref,
          `${specPath}.nodeSelector`,
          `${kind} ${ref.name} selects no node pool by ${keys.join(" or ")}`,
          `set nodeSelector on one of ${keys.join(", ")} to pick the node pool`,
        ),
      );
    }
    return findings;
  },
};
