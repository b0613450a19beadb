import type { V1RoleBinding } from "@kubernetes/client-node";
import { refOf } from "../../objects/object.js";
import type { ReportFinding } from "../../report/model.js";
import { finding, isSystemSubject, list } from "./shared.js";
import type { Check } from "./types.js";

export const clusterAdminBinding: Check = {
  id: "cluster-admin-binding",
  title: "cluster-admin is bound only to system subjects",
  category: "cluster",
  defaultSeverity: "deny",
  sources: ["audit"],
  description:
    "A binding to the cluster-admin ClusterRole gives its subject every permission on every resource. Only the control plane's own subjects (system:*) should hold it; people and CI get narrower roles.",
  remediation:
    "Bind a narrower ClusterRole, or a Role in the namespaces the subject works in, and delete the binding.",
  // Cluster-wide bindings first: the note that says what could not be read names them in this order.
  needs: ["ClusterRoleBinding", "RoleBinding"],
  coveredBy: "rbac-cluster-admin-binding",
  namespaceScoped: false,
  run(snapshot, { config }) {
    const findings: ReportFinding[] = [];
    for (const binding of [...list(snapshot, "ClusterRoleBinding"), ...list(snapshot, "RoleBinding")]) {
      const b = binding as unknown as V1RoleBinding;
      if (b.roleRef?.kind !== "ClusterRole" || b.roleRef.name !== "cluster-admin") continue;
      const ref = refOf(binding);
      (b.subjects ?? []).forEach((subject, index) => {
        if (isSystemSubject(subject, ref.namespace, config)) return;
        const who = `${subject.kind} ${subject.namespace ? `${subject.namespace}/` : ""}${subject.name}`;
        findings.push(
          finding(
            clusterAdminBinding,
            ref,
            `subjects[${index}]`,
            `${ref.kind} ${ref.name} grants cluster-admin to ${who}`,
            `bind a narrower role to ${who} and delete ${ref.kind} ${ref.name}`,
          ),
        );
      });
    }
    return findings;
  },
};
