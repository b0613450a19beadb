import type { V1NetworkPolicy } from "@kubernetes/client-node";
import { isDefaultDeny } from "../../k8s/selectors.js";
import { namespaceGaps } from "./shared.js";
import type { Check } from "./types.js";

export const namespaceDefaultDenyMissing: Check = {
  id: "namespace-default-deny-missing",
  title: "Namespaces have a default-deny NetworkPolicy",
  category: "cluster",
  defaultSeverity: "warn",
  sources: ["audit"],
  description:
    "Without a NetworkPolicy that selects every Pod and allows no ingress, every Pod of the namespace accepts traffic from anywhere in the cluster.",
  remediation:
    "```yaml\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: default-deny\nspec:\n  podSelector: {}\n  policyTypes: [Ingress, Egress]\n```",
  needs: ["Namespace", "NetworkPolicy"],
  namespaceScoped: true,
  run(snapshot, { config }) {
    return namespaceGaps(namespaceDefaultDenyMissing, snapshot, config, "NetworkPolicy", (objects, name) =>
      (objects as unknown as V1NetworkPolicy[]).some((p) => isDefaultDeny(p, "Ingress"))
        ? undefined
        : {
            message: `namespace ${name} has no default-deny ingress NetworkPolicy`,
            fix: `add a NetworkPolicy with podSelector: {} and policyTypes [Ingress, Egress] to ${name}`,
          },
    );
  },
};
