import type { V1PodDisruptionBudget } from "@kubernetes/client-node";
import { selectorMatches } from "../../objects/selectors.js";
import { type KindInfo, type KindName, KINDS, REPLICATED_KINDS, templateKey } from "../../objects/kinds.js";
import { isRecord, type KubeObject, metadataOf, refOf, replicasOf } from "../../objects/object.js";
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
    // The built-in workloads (template at spec.template), then the config's pod templates that are
    // like one of them (a Rollout), their template at the configured path.
    const workloads: {
      kind: string;
      objects: readonly KubeObject[];
      path: readonly string[];
      like?: KindInfo;
    }[] = REPLICATED_KINDS.map((kind) => ({
      kind,
      objects: list(snapshot, kind),
      path: ["spec", "template"],
    }));
    for (const template of config.podTemplates) {
      if (!(REPLICATED_KINDS as readonly KindName[]).includes(template.like)) continue;
      const objects = snapshot.templates?.get(templateKey(template)) ?? [];
      workloads.push({
        kind: template.kind,
        objects,
        path: template.path.split("."),
        like: KINDS[template.like],
      });
    }
    for (const { kind, objects, path, like } of workloads) {
      for (const workload of objects) {
        const ref = refOf(workload);
        if (config.excludedNamespaces.includes(ref.namespace)) continue;
        if (kind === "ReplicaSet" && metadataOf(workload).ownerReferences?.some((o) => o.controller))
          continue;
        const replicas = (like === undefined ? replicasOf(workload) : replicasOf(workload, like)) ?? 1;
        if (replicas < 2) continue;
        let template: unknown = workload;
        for (const field of path)
          template = isRecord(template) && Object.hasOwn(template, field) ? template[field] : undefined;
        const podLabels = labelsOf(isRecord(template) ? template : {});
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
