import type { Policy } from "../engine/policy.js";
import {
  BINDING_KINDS,
  type KindName,
  KINDS,
  POD_SPEC_KINDS,
  ROLE_KINDS,
  type TemplateKindInfo,
} from "../objects/kinds.js";
import type { TargetType } from "../rules/types.js";
import { HELM_RELEASE_SECRET_TYPE } from "./checks/helm.js";
import { ALL_CHECKS } from "./checks/index.js";
import { TLS_SECRET_TYPE } from "./checks/shared.js";
import type { ListRequest } from "./list.js";

/** Which target types the active rules read in audit, to list only the kinds that matter. */
function activeTargets(policy: Policy): Set<TargetType> {
  const types = new Set<TargetType>();
  for (const type of policy.bySource.audit.byTarget.keys()) types.add(type);
  return types;
}

const KINDS_BY_TARGET: Record<TargetType, readonly KindName[]> = {
  podSpec: POD_SPEC_KINDS,
  rbacRules: ROLE_KINDS,
  binding: BINDING_KINDS,
  namespace: ["Namespace"],
  serviceAccount: ["ServiceAccount"],
  secret: ["Secret"],
  // ValidatingAdmissionPolicies name their own kinds: added from the rules below.
  request: [],
};

/**
 * The kinds the rules judge, and the list requests for them plus the checklist's inputs; and the
 * custom resources of the config's `podTemplates` to list and judge (when a rule reads pod specs,
 * or a policy names the kind), which the lister finds through discovery.
 */
export function planAudit(policy: Policy, namespace: string | undefined) {
  const targets = activeTargets(policy);
  const judged = new Set<KindName>([...targets].flatMap((type) => KINDS_BY_TARGET[type]));
  const policies = policy.bySource.audit.byTarget.get("request") ?? [];
  for (const { rule } of policies) {
    for (const kind of rule.kinds) if (Object.hasOwn(KINDS, kind)) judged.add(kind as KindName);
  }
  const wanted = new Set<KindName>(judged);
  // Policies may select by namespace labels: the Namespaces are read even when no rule judges them.
  if (policies.length > 0) wanted.add("Namespace");
  for (const item of ALL_CHECKS) {
    if (namespace !== undefined && !item.namespaceScoped) continue;
    for (const kind of [...item.needs, ...(item.optional ?? [])]) wanted.add(kind);
  }
  const requests: ListRequest[] = [];
  for (const kind of Object.keys(KINDS) as KindName[]) {
    if (!wanted.has(kind)) continue;
    if (namespace !== undefined && !KINDS[kind].namespaced) {
      if (kind === "Namespace") requests.push({ kind, fieldSelector: `metadata.name=${namespace}` });
      continue;
    }
    // Without a rule on Secrets, only TLS Secrets (for their certificates) and Helm's release Secrets
    // (for the releases' state) are read, not every credential.
    if (kind === "Secret" && !targets.has("secret")) {
      requests.push({ kind, fieldSelector: `type=${TLS_SECRET_TYPE}` });
      requests.push({ kind, fieldSelector: `type=${HELM_RELEASE_SECRET_TYPE}` });
      continue;
    }
    requests.push({ kind });
  }
  const templates: TemplateKindInfo[] = [...policy.templates.values()].filter(
    (info) => targets.has("podSpec") || policies.some(({ rule }) => rule.kinds.includes(info.kind)),
  );
  return { judged, requests, templates };
}
