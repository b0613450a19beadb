import type { V1Node, V1Taint, V1Toleration } from "@kubernetes/client-node";
import type { ReportFinding } from "../../report/model.js";
import { applicationWorkloads, PLACED_KINDS, requiredTerms } from "./placement.js";
import { finding, list } from "./shared.js";
import type { Check } from "./types.js";

/** Node labels that mark the control plane (kubeadm's current and former role labels). */
export const SYSTEM_NODE_LABELS = ["node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master"];

/** The taints that keep application Pods off control-plane and system nodes, wherever the nodes show them. */
const WELL_KNOWN_TAINTS: readonly V1Taint[] = [
  { key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" },
  { key: "node-role.kubernetes.io/master", effect: "NoSchedule" },
  // The system node pools of AKS and EKS (and the cluster autoscaler's docs) use this one.
  { key: "CriticalAddonsOnly", value: "true", effect: "NoSchedule" },
];

const REPELS = new Set(["NoSchedule", "NoExecute"]);

/**
 * Whether a taint keeps Pods off a node for what the node is: NoSchedule or NoExecute, and not one of
 * the condition taints under `node.kubernetes.io/` (not-ready, unreachable, unschedulable, the
 * pressure taints), which say how the node is doing now. The apiserver itself puts
 * `node.kubernetes.io/not-ready` on every new Node (admission plugin TaintNodesByCondition).
 */
function repels(taint: V1Taint): boolean {
  return REPELS.has(taint.effect) && !taint.key.startsWith("node.kubernetes.io/");
}

/** Nodes that carry a control-plane role label or the CriticalAddonsOnly taint. */
function systemNodes(nodes: readonly V1Node[]): V1Node[] {
  return nodes.filter(
    (node) =>
      SYSTEM_NODE_LABELS.some((label) => node.metadata?.labels?.[label] !== undefined) ||
      (node.spec?.taints ?? []).some((taint) => taint.key === "CriticalAddonsOnly"),
  );
}

/** Whether a toleration tolerates a taint, as the scheduler reads it (v1 Toleration semantics). */
export function tolerates(toleration: V1Toleration, taint: V1Taint): boolean {
  if (toleration.effect && toleration.effect !== taint.effect) return false;
  if (toleration.operator === "Exists") return !toleration.key || toleration.key === taint.key;
  return toleration.key === taint.key && (toleration.value ?? "") === (taint.value ?? "");
}

function taintText(taint: V1Taint): string {
  return `${taint.key}${taint.value ? `=${taint.value}` : ""}:${taint.effect}`;
}

/** The taints that mark system nodes: the well-known ones and those the listed system nodes carry. */
function systemTaints(nodes: readonly V1Node[]): V1Taint[] {
  const taints = new Map(WELL_KNOWN_TAINTS.map((taint) => [taintText(taint), taint]));
  for (const node of nodes) {
    for (const taint of node.spec?.taints ?? []) {
      if (repels(taint)) taints.set(taintText(taint), taint);
    }
  }
  return [...taints.values()];
}

export const workloadOnSystemNodes: Check = {
  id: "workload-on-system-nodes",
  title: "Application workloads stay off control-plane and system nodes",
  category: "cluster",
  defaultSeverity: "warn",
  sources: ["audit"],
  description:
    "Control-plane and system nodes (labelled `node-role.kubernetes.io/control-plane` or `…/master`, or tainted `CriticalAddonsOnly`) keep application Pods off with NoSchedule taints, so that a busy or compromised application cannot starve or reach the control plane. Reported: such a node without a NoSchedule or NoExecute taint of its own (the `node.kubernetes.io/` condition taints such as not-ready do not count; anything can land on it); an application workload (outside the excluded namespaces; DaemonSets, which run on every node by design, are not judged) with a toleration of a system taint (the well-known ones, those the system nodes carry, or a toleration without a key, which tolerates every taint); and one whose nodeSelector or required node affinity picks control-plane nodes.",
  remediation: `Taint the control-plane nodes, and drop the tolerations and selectors that lead application Pods there:

\`\`\`sh
kubectl taint nodes cp1 node-role.kubernetes.io/control-plane:NoSchedule
\`\`\`

\`\`\`yaml
# pod spec: tolerate only the taints of the pool the workload belongs to
tolerations:
  - key: dedicated
    operator: Equal
    value: batch
    effect: NoSchedule
\`\`\``,
  needs: ["Node", ...PLACED_KINDS],
  namespaceScoped: false,
  run(snapshot, { config }) {
    const findings: ReportFinding[] = [];
    const system = systemNodes(list(snapshot, "Node") as unknown as V1Node[]);
    for (const node of system) {
      if ((node.spec?.taints ?? []).some(repels)) continue;
      const name = node.metadata?.name ?? "";
      const role = SYSTEM_NODE_LABELS.find((label) => node.metadata?.labels?.[label] !== undefined);
      const taint = role ? `${role}:NoSchedule` : "CriticalAddonsOnly=true:NoSchedule";
      findings.push(
        finding(
          workloadOnSystemNodes,
          { kind: "Node", namespace: "", name },
          "spec.taints",
          `node ${name} is a ${role ? "control-plane" : "system"} node without a NoSchedule taint: any Pod can be scheduled on it`,
          `kubectl taint nodes ${name} ${taint}`,
        ),
      );
    }
    const taints = systemTaints(system);
    for (const workload of applicationWorkloads(snapshot, config)) {
      const { kind, ref, spec, specPath } = workload;
      const report = (path: string, message: string, fix: string) =>
        findings.push(finding(workloadOnSystemNodes, ref, path, message, fix));
      const tolerations = spec.tolerations ?? [];
      for (const [i, toleration] of tolerations.entries()) {
        const taint = taints.find((t) => tolerates(toleration, t));
        if (!taint) continue;
        report(
          `${specPath}.tolerations[${i}]`,
          toleration.key
            ? `${kind} ${ref.name} tolerates the system taint ${taintText(taint)}: it can be scheduled on system nodes`
            : `${kind} ${ref.name} tolerates every ${toleration.effect ? `${toleration.effect} ` : ""}taint (a toleration without a key): it can be scheduled on system nodes`,
          "remove the toleration, or narrow it to the taint of the workload's own node pool",
        );
        break;
      }
      const selector = Object.keys(spec.nodeSelector ?? {}).find((key) => SYSTEM_NODE_LABELS.includes(key));
      const affinity = requiredTerms(spec)
        .flatMap((term) => term.matchExpressions ?? [])
        .find((e) => SYSTEM_NODE_LABELS.includes(e.key) && (e.operator === "In" || e.operator === "Exists"));
      if (selector !== undefined || affinity !== undefined) {
        report(
          selector !== undefined
            ? `${specPath}.nodeSelector`
            : `${specPath}.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution`,
          `${kind} ${ref.name} selects control-plane nodes by ${selector ?? affinity!.key}`,
          "select the workload's own node pool instead",
        );
      }
    }
    return findings;
  },
};
