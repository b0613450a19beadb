import { grantedResources, grantedVerbs, grantsGroup } from "./rbac.js";
import type { RawFinding, RbacRulesTarget, Rule } from "./types.js";
import { ROLE_KINDS } from "../objects/kinds.js";
import type { PolicyRule } from "../objects/shapes.js";

const READ = ["get", "list", "watch"] as const;

export const rbacSecretsAccess: Rule<RbacRulesTarget> = {
  id: "rbac-secrets-access",
  title: "Roles do not read Secrets without need",
  category: "rbac",
  defaultSeverity: "warn",
  targets: ["rbacRules"],
  kinds: ROLE_KINDS,
  description:
    "get, list or watch on secrets hands over every credential in scope: database passwords, TLS keys, ServiceAccount tokens. list and watch return the values too, not only the names. Grant it only to controllers that need it, and prefer resourceNames to name the one Secret. Wildcards (`*`) in verbs, resources or apiGroups count as granting it.",
  remediation: `Name the Secret the subject needs, with get only:

\`\`\`yaml
rules:
  - apiGroups: [""]
    resources: ["secrets"]
    resourceNames: ["web-tls"]
    verbs: ["get"]
\`\`\``,
  check(target) {
    // A rule limited by resourceNames reads only the Secrets it names: that is the least privilege
    // the remediation asks for, not a finding.
    const namesSecrets = ({ resourceNames }: PolicyRule) =>
      resourceNames !== undefined && resourceNames.length > 0 && !resourceNames.includes("*");
    const findings: RawFinding[] = [];
    target.rules.forEach((rule, index) => {
      if (!grantsGroup(rule, [""]) || grantedResources(rule, ["secrets"]).length === 0) return;
      const verbs = grantedVerbs(rule, READ);
      if (verbs.length === 0 || namesSecrets(rule)) return;
      findings.push({
        path: `rules[${index}]`,
        message: `rule ${index} grants ${verbs.join(", ")} on secrets`,
        fix: `drop secrets from rules[${index}] or limit it to get on named secrets (resourceNames)`,
      });
    });
    return findings;
  },
};
