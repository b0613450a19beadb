import type { V1LabelSelector, V1NetworkPolicy } from "@kubernetes/client-node";

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
