import { grantedResources, grantedVerbs, grantsGroup } from "./rbac.js";
import type { RawFinding, RbacRulesTarget, Rule } from "./types.js";
import { ROLE_KINDS } from "../objects/kinds.js";
import type { PolicyRule } from "../objects/shapes.js";

/** What each escalation verb acts on: bind and escalate on roles, impersonate on identities. */
const ESCALATIONS = [
  {
    verbs: ["bind", "escalate"],
    groups: ["rbac.authorization.k8s.io"],
    resources: ["roles", "clusterroles"],
  },
  {
    verbs: ["impersonate"],
    groups: ["", "authentication.k8s.io"],
    resources: ["users", "groups", "serviceaccounts", "uids", "userextras/*"],
  },
] as const;

function escalationVerbs(rule: PolicyRule): string[] {
  const verbs: string[] = [];
  for (const escalation of ESCALATIONS) {
    if (!grantsGroup(rule, escalation.groups)) continue;
    if (grantedResources(rule, escalation.resources).length === 0) continue;
    verbs.push(...grantedVerbs(rule, escalation.verbs));
  }
  return verbs;
}

export const rbacEscalationVerbs: Rule<RbacRulesTarget> = {
  id: "rbac-escalation-verbs",
  title: "Roles grant no bind, escalate or impersonate",
  category: "rbac",
  defaultSeverity: "deny",
  targets: ["rbacRules"],
  kinds: ROLE_KINDS,
  description:
    "escalate lets a subject write roles with permissions it does not have, bind lets it bind any role to anyone, impersonate lets it act as any user, group or ServiceAccount: each is a path to cluster-admin. Only the components that manage RBAC need them. Wildcards (`*`) count as granting them.",
  remediation: `Let an admin-owned pipeline manage roles; give the subject only what it uses:

\`\`\`yaml
rules:
  - apiGroups: ["rbac.authorization.k8s.io"]
    resources: ["roles", "rolebindings"]
    verbs: ["get", "list", "watch"]
\`\`\``,
  check(target) {
    const findings: RawFinding[] = [];
    target.rules.forEach((rule, index) => {
      const verbs = escalationVerbs(rule);
      if (verbs.length === 0) return;
      findings.push({
        path: `rules[${index}].verbs`,
        message: `rule ${index} grants ${verbs.join(", ")}`,
        fix: `remove ${verbs.join(", ")} from rules[${index}]; only RBAC managers need them`,
      });
    });
    return findings;
  },
};
