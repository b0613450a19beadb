import type { ClusterFacts, Finding, Mode, RawFinding, Source, Target } from "../rules/types.js";
import { DEFAULT_LIMITS, roundMs, type SlowRule } from "./budget.js";
import type { Policy } from "./policy.js";
import { controllerOf, extractTargets, type KubeObject, refOf } from "./targets.js";

export type Operation = "CREATE" | "UPDATE" | "DELETE" | "CONNECT";

export interface UserInfo {
  username?: string;
  groups?: string[];
}

export interface EvaluationInput {
  object: KubeObject;
  oldObject?: KubeObject | undefined;
  operation: Operation;
  /** The request's namespace, for objects that do not carry one. */
  namespace?: string | undefined;
  subResource?: string | undefined;
  userInfo?: UserInfo | undefined;
  mode: Mode;
  source: Source;
  facts?: ClusterFacts | undefined;
}

export interface RuleError {
  rule: string;
  error: string;
  /** The evaluation ran out of time at this rule; it and the rules after it were not applied. */
  timedOut?: boolean;
}

export interface Evaluation {
  /** Every finding, with the severity it ends with after mode, ratchet and exemptions. */
  findings: Finding[];
  /** The findings that deny. Empty in warn mode. */
  denials: Finding[];
  /** Rules that threw; the handler logs and counts them, the verdict follows `onRuleError`. */
  ruleErrors: RuleError[];
  /** Rules that ran longer than the policy's `slowRuleMs`, and the one that spent the budget. */
  slowRules: SlowRule[];
  /** Why the object was not judged at all, when it was not. */
  skipped?: string;
}

const EMPTY: readonly Finding[] = [];

function skip(reason: string): Evaluation {
  return { findings: [], denials: [], ruleErrors: [], slowRules: [], skipped: reason };
}

/**
 * Run the rules that apply to each target of the object. A rule that throws becomes a RuleError;
 * so does the rule at which the evaluation runs over its time budget, and no rule runs after it.
 */
export function runRules(
  targets: readonly Target[],
  policy: Policy,
  mode: Mode,
  source: Source,
  facts: ClusterFacts | undefined,
  ruleErrors: RuleError[],
  slowRules: SlowRule[] = [],
): Finding[] {
  const findings: Finding[] = [];
  const { allowedRegistries, nodePoolKeys } = policy.config;
  const limits = policy.limits ?? DEFAULT_LIMITS;
  const started = performance.now();
  let overBudget: RuleError | undefined;
  let notApplied = 0;
  for (const target of targets) {
    const active = policy.byTarget.get(target.type);
    if (!active) continue;
    for (const { rule, severity, options } of active) {
      if (rule.sources && !rule.sources.includes(source)) continue;
      if (overBudget) {
        notApplied++;
        continue;
      }
      let raw: RawFinding[] | undefined;
      const before = performance.now();
      try {
        raw = rule.check(target, { options, allowedRegistries, nodePoolKeys, source, facts });
      } catch (error) {
        ruleErrors.push({ rule: rule.id, error: error instanceof Error ? error.message : String(error) });
      }
      const after = performance.now();
      const spent = after - started;
      if (after - before >= limits.slowRuleMs || spent > limits.budgetMs) {
        slowRules.push({ rule: rule.id, ms: roundMs(after - before) });
      }
      if (spent > limits.budgetMs) {
        overBudget = {
          rule: rule.id,
          error: `the rules ran ${roundMs(spent)} ms on this object, over the ${limits.budgetMs} ms budget`,
          timedOut: true,
        };
        ruleErrors.push(overBudget);
      }
      if (!raw) continue;
      for (const finding of raw) {
        findings.push({
          rule: rule.id,
          severity: mode === "warn" ? "warn" : severity,
          kind: target.object.kind,
          namespace: target.object.namespace,
          name: target.object.name,
          ...finding,
        });
      }
    }
  }
  if (overBudget)
    overBudget.error += `; ${notApplied} later rule${notApplied === 1 ? " was" : "s were"} not applied`;
  return findings;
}

/**
 * Judge one object: pick its targets, run the rules, resolve severities. Pure: no I/O, no clock
 * beyond what the policy carries, so the webhook, `check` and `audit` give the same answer; the
 * rules are timed only to stop a runaway evaluation (`budget.ts`), which no healthy rule meets.
 */
export function evaluate(input: EvaluationInput, policy: Policy): Evaluation {
  const { config } = policy;
  if (input.operation === "DELETE" || input.operation === "CONNECT")
    return skip(`${input.operation} is not checked`);
  const ref = refOf(input.object, input.namespace ?? "");
  const namespace = ref.kind === "Namespace" ? ref.name : ref.namespace;
  if (namespace !== "" && config.excludedNamespaces.includes(namespace)) {
    return skip(`namespace ${namespace} is excluded`);
  }
  if (ref.kind === "Pod" && config.skipOwnedPods && input.subResource !== "ephemeralcontainers") {
    const owner = controllerOf(input.object);
    if (owner) return skip(`Pod is controlled by a ${owner}, whose template was checked`);
  }
  const ruleErrors: RuleError[] = [];
  const slowRules: SlowRule[] = [];
  const findings = runRules(
    extractTargets(input.object, input.namespace ?? ""),
    policy,
    input.mode,
    input.source,
    input.facts,
    ruleErrors,
    slowRules,
  );
  const denials =
    findings.length === 0 ? (EMPTY as Finding[]) : findings.filter((f) => f.severity === "deny");
  return { findings, denials, ruleErrors, slowRules };
}
