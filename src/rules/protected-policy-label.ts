import { policyMetadataChanges } from "./annotations.js";
import type { RawFinding, Rule } from "./types.js";
import { quote } from "./visit.js";
import { BINDING_KINDS, POD_SPEC_KINDS, ROLE_KINDS } from "../objects/kinds.js";
import { MODE_LABEL } from "../objects/labels.js";

export const protectedPolicyLabel: Rule = {
  id: "protected-policy-label",
  title: "Only policy admins change modes and exemptions",
  category: "policy",
  defaultSeverity: "deny",
  // Not Secrets: no rule judges a Secret at admission, so an exemption on one exempts nothing, and
  // sending every Secret's data to tollgate would make `kubectl create secret` depend on it.
  targets: ["podSpec", "rbacRules", "binding", "namespace", "serviceAccount"],
  kinds: ["Namespace", ...POD_SPEC_KINDS, ...ROLE_KINDS, ...BINDING_KINDS, "ServiceAccount"],
  sources: ["admission"],
  alwaysEnforced: true,
  description:
    "The `tollgate.dev/mode` label on a Namespace decides whether tollgate blocks or only warns there, and the `tollgate.dev/exempt`, `-reason` and `-until` annotations switch rules off for an object. Only requesters listed in `policyAdmins` (users, groups, ServiceAccounts) may change the label or add or change the annotations; anyone else is denied, in warn mode too. This holds for writes through the `status` and `finalize` subresources too, which keep an object's labels and annotations. The ratchet and exemptions do not apply to this rule, and it runs in the webhook only, where the requester is known.",
  remediation: `Ask a policy admin to apply the change, or list the pipeline that applies it in the config:

\`\`\`yaml
policyAdmins:
  groups: ["platform-admins"]
  serviceAccounts: ["argocd/argocd-application-controller"]
\`\`\``,
  check(_target, ctx) {
    const request = ctx.request;
    if (request === undefined || request.requesterIsPolicyAdmin) return [];
    const changes = policyMetadataChanges(request.object, request.oldObject);
    const who = quote(request.requester);
    const findings: RawFinding[] = [];
    if (changes.modeLabel) {
      findings.push({
        path: `metadata.labels[${MODE_LABEL}]`,
        message: `${who} is not a policy admin: cannot change label ${MODE_LABEL}`,
        fix: `leave ${MODE_LABEL} as it was, or ask a policy admin to change it`,
      });
    }
    for (const key of changes.annotations) {
      findings.push({
        path: `metadata.annotations[${key}]`,
        message: `${who} is not a policy admin: cannot set ${key}`,
        fix: `remove ${key} or ask a policy admin to set it`,
      });
    }
    return findings;
  },
};
