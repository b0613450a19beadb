import { namespacesWithout } from "./shared.js";
import type { Check } from "./types.js";

export const namespaceLimitrangeMissing: Check = {
  id: "namespace-limitrange-missing",
  title: "Namespaces have a LimitRange",
  category: "cluster",
  defaultSeverity: "warn",
  sources: ["audit"],
  description:
    "A namespace without a LimitRange has no default requests and limits; one team's workload can starve the others.",
  remediation: "Create a LimitRange in each application namespace.",
  needs: ["Namespace", "LimitRange"],
  namespaceScoped: true,
  run(snapshot, { config }) {
    return namespacesWithout(namespaceLimitrangeMissing, snapshot, config, "LimitRange", "a LimitRange");
  },
};
