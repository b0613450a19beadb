import type { V1PodDisruptionBudget } from "@kubernetes/client-node";
import { selectorMatches } from "../../objects/selectors.js";
import { REPLICATED_KINDS } from "../../objects/kinds.js";
import { isRecord, metadataOf, refOf, replicasOf } from "../../objects/object.js";
import type { ReportFinding } from "../../report/model.js";
import { finding, labelsOf, list } from "./shared.js";
import type { Check } from "./types.js";

export const workloadPdbMissing: Check = {
  id: "workload-pdb-missing",
  title: "Workloads with 2+ replicas have a PodDisruptionBudget",
  category: "cluster",
  defaultSeverity: "warn",
  sources: ["audit"],
  description:
    "A node drain may evict every replica of a workload at once unless a PodDisruptionBudget selects its Pods.",
  remediation:
    "```yaml\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: web\nspec:\n  maxUnavailable: 1\n  selector:\n    matchLabels:\n      app: web\n```",
  needs: [...REPLICATED_KINDS, "PodDisruptionBudget"],
  coveredBy: "pdb-missing",
  namespaceScoped: true,
  run(snapshot, { config }) {
    const budgets = list(snapshot, "PodDisruptionBudget") as unknown as V1PodDisruptionBudget[];
    const findings: ReportFinding[] = [];
    for (const kind of REPLICATED_KINDS) {
      for (const workload of list(snapshot, kind)) {
        const ref = refOf(workload);
        if (config.excludedNamespaces.includes(ref.namespace)) continue;
        if (kind === "ReplicaSet" && metadataOf(workload).ownerReferences?.some((o) => o.controller))
          continue;
        const replicas = replicasOf(workload) ?? 1;
        if (replicas < 2) continue;
        const spec = isRecord(workload.spec) ? workload.spec : {};
        const template = isRecord(spec.template) ? spec.template : {};
        const podLabels = labelsOf(template);
        const covered = budgets.some(
          (pdb) =>
            (pdb.metadata?.namespace ?? "") === ref.namespace &&
            selectorMatches(pdb.spec?.selector, podLabels),
        );
        if (covered) continue;
        findings.push(
          finding(
            workloadPdbMissing,
            ref,
            "spec.replicas",
            `${kind} ${ref.name} runs ${replicas} replicas and no PodDisruptionBudget selects its Pods`,
            `add a PodDisruptionBudget with maxUnavailable: 1 selecting the Pods of ${ref.name}`,
          ),
        );
      }
    }
    return findings;
  },
};
