import type { PodSpecTarget, Rule } from "./types.js";
import { podMetaPath } from "./visit.js";
import { REPLICATED_KINDS } from "../objects/kinds.js";

const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});

export const pdbMissing: Rule<PodSpecTarget> = {
  id: "pdb-missing",
  title: "Replicated workloads have a PodDisruptionBudget",
  category: "availability",
  defaultSeverity: "warn",
  targets: ["podSpec"],
  needsFacts: true,
  kinds: REPLICATED_KINDS,
  description:
    "Node drains during upgrades and autoscaling evict pods without regard for the service: without a PodDisruptionBudget all replicas of a workload can go at once. Every workload with two or more replicas should be selected by a PodDisruptionBudget. Read from the informer cache, so it only warns (a cache can be stale) and is inactive without a cluster connection.",
  remediation: `Keep at least one replica up during voluntary disruptions:

\`\`\`yaml
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: web
  namespace: team-a
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      app: web
\`\`\``,
  check(target, ctx) {
    const replicas = target.replicas;
    if (ctx.facts === undefined || replicas === undefined || replicas < 2 || target.workloadKind === "Pod") {
      return [];
    }
    const labels = target.podMeta.labels ?? NO_LABELS;
    if (ctx.facts.pdbSelects(target.object.namespace, labels) !== false) return [];
    return [
      {
        path: `${podMetaPath(target)}.labels`,
        message: `no PodDisruptionBudget selects the ${replicas} replicas' pods`,
        fix: "add a PodDisruptionBudget (maxUnavailable: 1) whose selector matches the pod template's labels",
      },
    ];
  },
};
