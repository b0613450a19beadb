import type { V1NetworkPolicy } from "@kubernetes/client-node";
import { isDefaultDeny, policyTypes } from "../../k8s/selectors.js";
import { namespaceGaps } from "./shared.js";
import type { Check } from "./types.js";

function allowsDns(policy: V1NetworkPolicy): boolean {
  if (!policyTypes(policy).includes("Egress")) return false;
  return (policy.spec?.egress ?? []).some((rule) => {
    if (!rule.ports || rule.ports.length === 0) return true;
    return rule.ports.some(
      (port) =>
        (port.protocol === undefined || port.protocol === "UDP" || port.protocol === "TCP") &&
        (port.port === undefined || port.port === 53 || port.port === "53" || port.port === "dns"),
    );
  });
}

export const namespaceDnsEgressMissing: Check = {
  id: "namespace-dns-egress-missing",
  title: "Namespaces that deny egress allow DNS",
  category: "cluster",
  defaultSeverity: "warn",
  sources: ["audit"],
  description:
    "A default-deny egress policy without a rule that allows port 53 breaks name resolution for every Pod of the namespace.",
  remediation:
    "```yaml\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: allow-dns\nspec:\n  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n    - ports:\n        - {protocol: UDP, port: 53}\n        - {protocol: TCP, port: 53}\n```",
  needs: ["Namespace", "NetworkPolicy"],
  namespaceScoped: true,
  run(snapshot, { config }) {
    return namespaceGaps(namespaceDnsEgressMissing, snapshot, config, "NetworkPolicy", (objects, name) => {
      const here = objects as unknown as V1NetworkPolicy[];
      if (!here.some((p) => isDefaultDeny(p, "Egress")) || here.some(allowsDns)) return undefined;
      return {
        message: `namespace ${name} denies all egress but no NetworkPolicy allows DNS (port 53)`,
        fix: `add a NetworkPolicy to ${name} that allows egress to port 53 (UDP and TCP)`,
      };
    });
  },
};
