import { BINDING_KINDS } from "./rbac.js";
import type { BindingTarget, RawFinding, Rule } from "./types.js";
import { isRecord, quote } from "./visit.js";

export const rbacClusterAdminBinding: Rule<BindingTarget> = {
  id: "rbac-cluster-admin-binding",
  title: "Nobody outside the system is bound to cluster-admin",
  category: "rbac",
  defaultSeverity: "deny",
  targets: ["binding"],
  kinds: BINDING_KINDS,
  description:
    "cluster-admin can do anything to any object, including reading every Secret and granting itself more. Bindings to it belong to the cluster's own components (subjects named `system:…`); people and workloads get roles scoped to what they do, and break-glass access goes through a policy admin.",
  remediation: `Bind a role that covers the job instead:

\`\`\`yaml
kind: RoleBinding
metadata:
  name: team-a-edit
  namespace: team-a
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: edit
subjects:
  - kind: Group
    name: team-a
    apiGroup: rbac.authorization.k8s.io
\`\`\``,
  check(target) {
    const { roleRef, subjects } = target.binding;
    if (!isRecord(roleRef) || roleRef.kind !== "ClusterRole" || roleRef.name !== "cluster-admin") return [];
    if (!Array.isArray(subjects)) return [];
    const findings: RawFinding[] = [];
    subjects.forEach((subject: unknown, index) => {
      if (!isRecord(subject) || typeof subject.name !== "string" || subject.name.startsWith("system:"))
        return;
      const kind = typeof subject.kind === "string" ? subject.kind : "subject";
      findings.push({
        path: `subjects[${index}]`,
        message: `binds cluster-admin to ${kind} ${quote(subject.name)}`,
        fix: `bind ${kind} ${quote(subject.name)} to a role with only the permissions it needs`,
      });
    });
    return findings;
  },
};
