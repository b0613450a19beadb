import { containerLimitsMissing } from "./container-limits-missing.js";
import { containerRequestsMissing } from "./container-requests-missing.js";
import { defaultServiceAccount } from "./default-service-account.js";
import { privilegedContainer } from "./privileged-container.js";
import { rbacWildcard } from "./rbac-wildcard.js";
import { runAsRoot } from "./run-as-root.js";
import type { Rule, Target } from "./types.js";

/** A registry that refuses duplicate or malformed ids, so two rules can never answer to one name. */
export function buildRegistry(rules: readonly Rule[]): ReadonlyMap<string, Rule> {
  const registry = new Map<string, Rule>();
  for (const rule of rules) {
    if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(rule.id)) {
      throw new Error(`rule id ${JSON.stringify(rule.id)} is not kebab-case`);
    }
    if (registry.has(rule.id)) throw new Error(`rule id ${JSON.stringify(rule.id)} is registered twice`);
    registry.set(rule.id, rule);
  }
  return registry;
}

function erase<T extends Target>(rule: Rule<T>): Rule {
  return rule as unknown as Rule;
}

/** Every rule tollgate ships, in catalog order. */
export const ALL_RULES: readonly Rule[] = [
  erase(containerRequestsMissing),
  erase(containerLimitsMissing),
  erase(privilegedContainer),
  erase(runAsRoot),
  erase(defaultServiceAccount),
  erase(rbacWildcard),
];

export const RULES = buildRegistry(ALL_RULES);
