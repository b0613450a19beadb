import { grantedResources, grantedVerbs, grantsGroup } from "./rbac.js";
import type { RawFinding, RbacRulesTarget, Rule } from "./types.js";
import { ROLE_KINDS } from "../objects/kinds.js";

export const rbacPodExec: Rule<RbacRulesTarget> = {
  id: "rbac-pod-exec",
  title: "Roles do not open shells in pods without need",
  category: "rbac",
  defaultSeverity: "warn",
  targets: ["rbacRules"],
  kinds: ROLE_KINDS,
  description:
    "create or get on pods/exec or pods/attach lets the subject run commands inside any pod in scope, with the pod's ServiceAccount, mounted Secrets and network position. Keep it to break-glass roles. Wildcards (`*`, `pods/*`, `*/exec`) count as granting it.",
  remediation: `Grant read access to pods and logs instead of exec:

\`\`\`yaml
rules:
  - apiGroups: [""]
    resources: ["pods", "pods/log"]
    verbs: ["get", "list", "watch"]
\`\`\``,
  check(target) {
    const findings: RawFinding[] = [];
    target.rules.forEach((rule, index) => {
      if (!grantsGroup(rule, [""])) return;
      const resources = grantedResources(rule, ["pods/exec", "pods/attach"]);
      if (resources.length === 0) return;
      const verbs = grantedVerbs(rule, ["create", "get"]);
      if (verbs.length === 0) return;
      findings.push({
        path: `rules[${index}]`,
        message: `rule ${index} grants ${verbs.join(", ")} on ${resources.join(", ")}`,
        fix: `remove ${resources.join(" and ")} from rules[${index}]; keep exec for break-glass roles`,
      });
    });
    return findings;
  },
};
