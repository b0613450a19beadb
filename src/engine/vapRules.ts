import type { V1NamedRuleWithOperations } from "@kubernetes/client-node";
import { KINDS } from "../objects/kinds.js";
import type { RawFinding, RequestTarget, Rule } from "../rules/types.js";
import type { CompiledVap } from "../vap/compile.js";
import { PolicySetJudge, type VapBinding, type VapOutcome } from "../vap/evaluate.js";
import type { PolicySet } from "../vap/load.js";

/** Annotations a policy may carry to fill its catalog entry (the apiserver ignores them). */
export const TITLE_ANNOTATION = "tollgate.dev/title";
export const DESCRIPTION_ANNOTATION = "tollgate.dev/description";

function matches(pattern: readonly string[] | undefined, value: string): boolean {
  return (pattern ?? []).some((item) => item === "*" || item === value);
}

/** The kinds of tollgate's table that a policy's resource rules select, for the catalog and the audit. */
export function kindsMatched(rules: readonly V1NamedRuleWithOperations[] | undefined): string[] {
  const kinds: string[] = [];
  for (const info of Object.values(KINDS)) {
    const selected = (rules ?? []).some(
      (rule) =>
        matches(rule.apiGroups, info.group) &&
        matches(rule.apiVersions, info.version) &&
        (rule.resources ?? []).some((resource) => {
          const [name, sub = ""] = resource.split("/", 2);
          return (name === "*" || name === info.resource) && (sub === "" || sub === "*");
        }),
    );
    if (selected) kinds.push(info.kind);
  }
  return kinds;
}

/** What a binding's actions make of a failed validation: the rule's severity, a warning, or audit only. */
function actionOf(binding: VapBinding): RawFinding["action"] {
  if (binding.validationActions.includes("Deny")) return undefined;
  return binding.validationActions.includes("Warn") ? "warn" : "audit";
}

function findingOf(policy: CompiledVap, binding: VapBinding, outcome: VapOutcome): RawFinding {
  const via = binding.name === undefined ? "" : ` (binding ${binding.name})`;
  const action = actionOf(binding);
  const finding: RawFinding =
    outcome.kind === "violation"
      ? {
          path: "",
          message: outcome.message,
          fix: `meet spec.validations[${outcome.validation}] of ValidatingAdmissionPolicy "${policy.name}"${via}`,
          reason: outcome.reason,
        }
      : {
          path: "",
          message: `the policy could not be evaluated and its failurePolicy is Fail: ${outcome.message}`,
          fix: `correct ValidatingAdmissionPolicy "${policy.name}"${via} or its params`,
          // The apiserver denies a failed evaluation as Invalid, as a validation that names no reason.
          reason: "Invalid",
        };
  if (action !== undefined) finding.action = action;
  return finding;
}

function annotation(policy: CompiledVap, key: string): string | undefined {
  const value = policy.manifest.metadata?.annotations?.[key];
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
}

/**
 * Each ValidatingAdmissionPolicy of the set as a rule of tollgate's: its id is the policy's name, it
 * reads the whole request, and it runs every binding of its policy. Severity, exemptions, the
 * ratchet and warn mode then apply to it as to a built-in rule.
 */
export function vapRules(set: PolicySet): Rule<RequestTarget>[] {
  // The policies of the set share each request's conversion and resource matching.
  const judge = new PolicySetJudge(set);
  return set.policies.map((policy, index): Rule<RequestTarget> => {
    const messages = policy.validations
      .map((validation) => validation.message)
      .filter((m) => m !== undefined);
    return {
      id: policy.name,
      title: annotation(policy, TITLE_ANNOTATION) ?? `ValidatingAdmissionPolicy ${policy.name}`,
      category: "custom",
      defaultSeverity: "deny",
      targets: ["request"],
      kinds: kindsMatched(policy.matchConstraints.resourceRules),
      description:
        annotation(policy, DESCRIPTION_ANNOTATION) ??
        `A ValidatingAdmissionPolicy from ${policy.location.file}, run by tollgate with the apiserver's semantics.`,
      remediation: messages.length > 0 ? messages.join("; ") : "Meet the policy's validations.",
      check(target) {
        return judge.outcomes(index, target.request, findingOf);
      },
    };
  });
}
