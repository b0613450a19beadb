import { namespacesWithout } from "./shared.js";
import type { Check } from "./types.js";

export const namespaceResourcequotaMissing: Check = {
  id: "namespace-resourcequota-missing",
  title: "Namespaces have a ResourceQuota",
  category: "cluster",
  defaultSeverity: "warn",
  sources: ["audit"],
  description:
    "A namespace without a ResourceQuota has no cap on what it may consume; one team's workload can starve the others.",
  remediation: "Create a ResourceQuota in each application namespace.",
  needs: ["Namespace", "ResourceQuota"],
  namespaceScoped: true,
  run(snapshot, { config }) {
    return namespacesWithout(
      namespaceResourcequotaMissing,
      snapshot,
      config,
      "ResourceQuota",
      "a ResourceQuota",
    );
  },
};
