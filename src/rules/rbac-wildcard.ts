import type { RawFinding, RbacRulesTarget, Rule } from "./types.js";
import { ROLE_KINDS } from "../objects/kinds.js";

const FIELDS = ["verbs", "resources", "apiGroups"] as const;

export const rbacWildcard: Rule<RbacRulesTarget> = {
  id: "rbac-wildcard",
  title: "RBAC rules name what they grant",
  category: "rbac",
  defaultSeverity: "deny",
  targets: ["rbacRules"],
  kinds: ROLE_KINDS,
  description:
    "A `*` in verbs, resources or apiGroups grants everything that exists today and everything a future API or CRD adds, including `escalate`, `bind` and `impersonate`. Least privilege means listing what the subject needs.",
  remediation: `List the verbs, resources and API groups the subject needs:

\`\`\`yaml
rules:
  - apiGroups: ["apps"]
    resources: ["deployments"]
    verbs: ["get", "list", "watch"]
\`\`\``,
  check(target) {
    const findings: RawFinding[] = [];
    target.rules.forEach((rule, index) => {
      for (const field of FIELDS) {
        if (!rule[field]?.includes("*")) continue;
        findings.push({
          path: `rules[${index}].${field}`,
          message: `rule ${index} grants "*" in ${field}`,
          fix: `list the ${field} the subject needs instead of "*" in rules[${index}]`,
        });
      }
    });
    return findings;
  },
};
