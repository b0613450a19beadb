import type { PodSpecTarget, Rule } from "./types.js";
import { POD_SPEC_KINDS } from "../objects/kinds.js";

export const defaultServiceAccount: Rule<PodSpecTarget> = {
  id: "default-service-account",
  title: "Workloads use their own ServiceAccount",
  category: "identity",
  defaultSeverity: "warn",
  targets: ["podSpec"],
  kinds: POD_SPEC_KINDS,
  description:
    "Every Pod that names no ServiceAccount runs as the namespace's `default` one, so a permission granted to one workload is granted to all of them. Give each workload a ServiceAccount of its own and grant it only what it needs.",
  remediation: `Create a ServiceAccount for the workload and name it in the pod spec:

\`\`\`yaml
apiVersion: v1
kind: ServiceAccount
metadata:
  name: web
automountServiceAccountToken: false
---
# in the pod spec
serviceAccountName: web
\`\`\``,
  check(target) {
    const spec = target.spec;
    const name = spec.serviceAccountName || spec.serviceAccount || "";
    if (typeof name === "string" && name !== "" && name !== "default") return [];
    return [
      {
        path: `${target.specPath}.serviceAccountName`,
        message:
          name === ""
            ? "pod uses the default ServiceAccount (none named)"
            : 'pod names the "default" ServiceAccount',
        fix: "create a ServiceAccount for this workload and set serviceAccountName",
      },
    ];
  },
};
