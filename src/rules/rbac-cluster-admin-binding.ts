import type { BindingTarget, RawFinding, Rule } from "./types.js";
import { quote } from "./visit.js";
import { BINDING_KINDS } from "../objects/kinds.js";

export const rbacClusterAdminBinding: Rule<BindingTarget> = {
  id: "rbac-cluster-admin-binding",
  title: "Nobody outside the system is bound to cluster-admin",
  category: "rbac",
  defaultSeverity: "deny",
  targets: ["binding"],
  kinds: BINDING_KINDS,
  description:
    "cluster-admin can do anything to any object, including reading every Secret and granting itself more. Bindings to it belong to the control plane's own identities only: the group `system:masters`, the users `system:kube-controller-manager`, `system:kube-scheduler` and `system:node:*`, and ServiceAccounts in `kube-system`. Any other subject is reported, and so, always, are the groups that stand for everyone (`system:authenticated`, `system:unauthenticated`, `system:serviceaccounts`, `system:serviceaccounts:<namespace>`) and the user `system:anonymous`. People and workloads get roles scoped to what they do, and break-glass access goes through a policy admin.",
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
    if (roleRef?.kind !== "ClusterRole" || roleRef.name !== "cluster-admin") return [];
    const findings: RawFinding[] = [];
    subjects?.forEach(({ kind = "subject", name, namespace = target.object.namespace }, index) => {
      if (name === undefined || isControlPlane(kind, name, namespace)) return;
      const who = EVERYONE[`${kind}/${name}`] ?? everyServiceAccountIn(kind, name);
      findings.push({
        path: `subjects[${index}]`,
        message: `binds cluster-admin to ${kind} ${quote(name)}${who ? ` (${who})` : ""}`,
        fix: who
          ? `remove ${kind} ${quote(name)} from the binding`
          : `bind ${kind} ${quote(name)} to a role with only the permissions it needs`,
      });
    });
    return findings;
  },
};

const CONTROL_PLANE_USERS = new Set(["system:kube-controller-manager", "system:kube-scheduler"]);

/**
 * The control plane's own identities, which the apiserver itself binds to cluster-admin or which
 * hold it by design. A `system:` prefix alone proves nothing: `system:authenticated` is everyone.
 */
function isControlPlane(kind: string, name: string, namespace: string): boolean {
  switch (kind) {
    case "Group":
      return name === "system:masters";
    case "User":
      return (
        CONTROL_PLANE_USERS.has(name) ||
        (name.startsWith("system:node:") && name.length > "system:node:".length) ||
        name.startsWith("system:serviceaccount:kube-system:")
      );
    case "ServiceAccount":
      return namespace === "kube-system";
    default:
      return false;
  }
}

/** Subjects that stand for a whole population, named in the message so nobody misreads them. */
const EVERYONE: Readonly<Record<string, string>> = {
  "Group/system:authenticated": "every authenticated user",
  "Group/system:unauthenticated": "every anonymous request",
  "Group/system:serviceaccounts": "every ServiceAccount in the cluster",
  "User/system:anonymous": "every anonymous request",
};

function everyServiceAccountIn(kind: string, name: string): string | undefined {
  const prefix = "system:serviceaccounts:";
  return kind === "Group" && name.startsWith(prefix)
    ? `every ServiceAccount in namespace ${quote(name.slice(prefix.length))}`
    : undefined;
}
