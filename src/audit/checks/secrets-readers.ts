import type { V1RoleBinding } from "@kubernetes/client-node";
import { BINDING_KINDS, ROLE_KINDS } from "../../objects/kinds.js";
import { refOf } from "../../objects/object.js";
import { type PolicyRule, policyRules } from "../../objects/shapes.js";
import { grantedResources, grantedVerbs, grantsGroup } from "../../rules/rbac.js";
import { finding, isSystemSubject, list, subjectTarget, type Target } from "./shared.js";
import type { Check } from "./types.js";

const READ_VERBS = ["get", "list", "watch"];

/**
 * Does a rule let its subject read any Secret? A rule limited by `resourceNames` reads only the
 * Secrets it names: the least privilege the check's fix (and rule rbac-secrets-access) asks for.
 */
function grantsSecretRead(rule: PolicyRule): boolean {
  const names = rule.resourceNames ?? [];
  return (
    (names.length === 0 || names.includes("*")) &&
    grantsGroup(rule, [""]) &&
    grantedResources(rule, ["secrets"]).length > 0 &&
    grantedVerbs(rule, READ_VERBS).length > 0
  );
}

export const secretsReaders: Check = {
  id: "secrets-readers",
  title: "Who can read Secrets",
  category: "cluster",
  defaultSeverity: "warn",
  sources: ["audit"],
  description:
    "Reading a Secret reveals its credentials. Every subject outside the system namespaces that can get, list or watch Secrets is listed, with the bindings that grant it, so that the list can be reviewed. A grant limited by resourceNames to the Secrets it names is the least privilege, and is not listed.",
  remediation:
    "Narrow the roles to the Secrets the subject needs (`resourceNames`), or let it read them through a mounted volume instead of the API.",
  needs: [...ROLE_KINDS, ...BINDING_KINDS],
  namespaceScoped: false,
  run(snapshot, { config }) {
    // Narrowed as the rules' targets are, so the helpers of rules/rbac.ts read them as typed.
    const roles = new Map<string, readonly PolicyRule[]>();
    for (const role of list(snapshot, "Role")) {
      const ref = refOf(role);
      roles.set(`Role/${ref.namespace}/${ref.name}`, policyRules(role.rules) ?? []);
    }
    for (const role of list(snapshot, "ClusterRole")) {
      roles.set(`ClusterRole//${refOf(role).name}`, policyRules(role.rules) ?? []);
    }
    const grants = new Map<string, { target: Target; via: string[] }>();
    for (const binding of [...list(snapshot, "ClusterRoleBinding"), ...list(snapshot, "RoleBinding")]) {
      const b = binding as unknown as V1RoleBinding;
      const ref = refOf(binding);
      const roleNamespace = b.roleRef?.kind === "Role" ? ref.namespace : "";
      const rules = roles.get(`${b.roleRef?.kind}/${roleNamespace}/${b.roleRef?.name}`) ?? [];
      if (!rules.some(grantsSecretRead)) continue;
      const scope = ref.kind === "ClusterRoleBinding" ? "cluster-wide" : `in ${ref.namespace}`;
      for (const subject of b.subjects ?? []) {
        if (isSystemSubject(subject, ref.namespace, config)) continue;
        const target = subjectTarget(subject, ref.namespace);
        const key = `${target.kind}/${target.namespace}/${target.name}`;
        const entry = grants.get(key) ?? { target, via: [] };
        entry.via.push(`${scope} via ${ref.kind} ${ref.name} (${b.roleRef.kind} ${b.roleRef.name})`);
        grants.set(key, entry);
      }
    }
    return [...grants.values()].map(({ target, via }) =>
      finding(
        secretsReaders,
        target,
        "",
        `${target.kind} ${target.namespace ? `${target.namespace}/` : ""}${target.name} can read Secrets ${via.join("; ")}`,
        "review the grant; limit it with resourceNames or remove the binding",
      ),
    );
  },
};
