import type { PodSpecTarget, Rule } from "./types.js";
import { quote } from "./visit.js";
import { WORKLOAD_KINDS } from "../objects/kinds.js";

export const networkpolicyMissing: Rule<PodSpecTarget> = {
  id: "networkpolicy-missing",
  title: "The namespace denies ingress by default",
  category: "network",
  defaultSeverity: "warn",
  targets: ["podSpec"],
  needsFacts: true,
  kinds: WORKLOAD_KINDS,
  description:
    "Without a default-deny ingress NetworkPolicy, every pod in the cluster can reach every pod in the namespace: one compromised workload can talk to all the others. The namespace should have a policy that selects all pods and allows no ingress, with narrower policies opening what is needed. Read from the informer cache, so it only warns (a cache can be stale) and is inactive without a cluster connection.",
  remediation: `Deny all ingress in the namespace, then allow what each workload needs:

\`\`\`yaml
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny-ingress
  namespace: team-a
spec:
  podSelector: {}
  policyTypes: ["Ingress"]
\`\`\``,
  check(target, ctx) {
    const namespace = target.object.namespace;
    if (ctx.facts === undefined || namespace === "") return [];
    if (ctx.facts.hasDefaultDenyIngress(namespace) !== false) return [];
    return [
      {
        path: "metadata.namespace",
        message: `namespace ${quote(namespace)} has no default-deny ingress NetworkPolicy`,
        fix: `add a NetworkPolicy with podSelector: {} and policyTypes: [Ingress] to namespace ${quote(namespace)}`,
      },
    ];
  },
};
