import type { PolicyRule } from "../objects/shapes.js";

// RBAC resource matching: "*", the exact name, "pods/*" (every subresource) and "*/exec" (one subresource of all).
function resourceMatches(granted: string, wanted: string): boolean {
  if (granted === "*" || granted === wanted) return true;
  const slash = wanted.indexOf("/");
  if (slash === -1) return false;
  return granted === `${wanted.slice(0, slash)}/*` || granted === `*${wanted.slice(slash)}`;
}

/** The resources of `wanted` that a policy rule covers. */
export function grantedResources(rule: PolicyRule, wanted: readonly string[]): string[] {
  const resources = rule.resources ?? [];
  return wanted.filter((name) => resources.some((granted) => resourceMatches(granted, name)));
}

/** Does the rule cover any of the API groups (`""` is the core group)? */
export function grantsGroup(rule: PolicyRule, groups: readonly string[]): boolean {
  return (rule.apiGroups ?? []).some((group) => group === "*" || groups.includes(group));
}

/** The verbs of `wanted` that the rule grants, `*` granting them all. */
export function grantedVerbs(rule: PolicyRule, wanted: readonly string[]): string[] {
  const verbs = rule.verbs ?? [];
  if (verbs.includes("*")) return [...wanted];
  return wanted.filter((verb) => verbs.includes(verb));
}
