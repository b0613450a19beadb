import type { BindingTarget, RawFinding, Rule } from "./types.js";
import { quote } from "./visit.js";
import { BINDING_KINDS } from "../objects/kinds.js";

export const rbacDefaultServiceAccountBinding: Rule<BindingTarget> = {
  id: "rbac-default-service-account-binding",
  title: "No role is bound to a default ServiceAccount",
  category: "rbac",
  defaultSeverity: "warn",
  targets: ["binding"],
  kinds: BINDING_KINDS,
  description:
    "Every pod that names no ServiceAccount runs as its namespace's `default` one, so a role bound to `default` is granted to every such pod, today's and tomorrow's. Bind roles to a ServiceAccount made for the workload.",
  remediation: `Bind the role to the workload's own ServiceAccount:

\`\`\`yaml
subjects:
  - kind: ServiceAccount
    name: web
    namespace: team-a
\`\`\``,
  check(target) {
    const findings: RawFinding[] = [];
    target.binding.subjects?.forEach((subject, index) => {
      if (subject.kind !== "ServiceAccount" || subject.name !== "default") return;
      const namespace = subject.namespace || target.object.namespace;
      const where = namespace === "" ? "" : ` in namespace ${quote(namespace)}`;
      findings.push({
        path: `subjects[${index}]`,
        message: `binds the default ServiceAccount${where}`,
        fix: "create a ServiceAccount for the workload and bind the role to it",
      });
    });
    return findings;
  },
};
