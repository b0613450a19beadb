import type { V1LabelSelector, V1NetworkPolicy } from "@kubernetes/client-node";

/**
 * Label selector semantics of the apiserver: every matchLabels pair and every matchExpressions
 * requirement must hold. An empty selector selects everything; an absent one (`undefined`) nothing.
 */
export function selectorMatches(
  selector: V1LabelSelector | undefined,
  labels: Readonly<Record<string, string>>,
): boolean {
  if (selector === undefined) return false;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const requirement of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, requirement.key);
    const value = labels[requirement.key];
    const values = requirement.values ?? [];
    switch (requirement.operator) {
      case "In":
        if (!has || !values.includes(value as string)) return false;
        break;
      case "NotIn":
        if (has && values.includes(value as string)) return false;
        break;
      case "Exists":
        if (!has) return false;
        break;
      case "DoesNotExist":
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** Does the selector select every Pod (no labels, no expressions, or none at all)? */
function isEmptySelector(selector: V1LabelSelector | undefined): boolean {
  if (!selector) return true;
  return (
    Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0
  );
}

/** The policy types of a NetworkPolicy, defaulted as the apiserver does. */
export function policyTypes(policy: V1NetworkPolicy): string[] {
  const spec = policy.spec;
  if (!spec) return [];
  if (spec.policyTypes && spec.policyTypes.length > 0) return spec.policyTypes;
  return spec.egress && spec.egress.length > 0 ? ["Ingress", "Egress"] : ["Ingress"];
}

/** Does the policy select every Pod of its namespace and allow nothing in `direction`? */
export function isDefaultDeny(policy: V1NetworkPolicy, direction: "Ingress" | "Egress"): boolean {
  const spec = policy.spec;
  if (!spec || !isEmptySelector(spec.podSelector) || !policyTypes(policy).includes(direction)) return false;
  const rules = direction === "Ingress" ? spec.ingress : spec.egress;
  return !rules || rules.length === 0;
}
