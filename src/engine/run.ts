import { containerTotalPastLimit, MAX_CONTAINERS } from "../rules/visit.js";
import type {
  ClusterFacts,
  Finding,
  RawFinding,
  RequestContext,
  RuleContext,
  Source,
  Target,
} from "../rules/types.js";
import { DEFAULT_LIMITS, MAX_FINDINGS_PER_RULE, roundMs, type SlowRule } from "./budget.js";
import type { Policy } from "./policy.js";

export interface RuleError {
  rule: string;
  error: string;
  /**
   * Judging did not finish at this rule: `time`, the evaluation ran over its budget here and the
   * rules after it were not applied; `size`, the object holds more than the rule visits or keeps.
   */
  unfinished?: "time" | "size";
}

export interface RunOptions {
  source: Source;
  facts: ClusterFacts | undefined;
  /** Where rules that throw or do not finish are recorded. */
  ruleErrors: RuleError[];
  slowRules: SlowRule[];
  request?: RequestContext | undefined;
  /** Run only these rules (the ratchet asks the old object only about the rules that deny now). */
  only?: ReadonlySet<string> | undefined;
}

/** Deny rules run first, so that an evaluation cut short by the budget has looked for what denies. */
const PASSES = ["deny", "warn"] as const;

/**
 * The second step: run the source's rules on each target, each finding at the severity the config
 * gives its rule (the mode, exemptions and ratchet come after, in `resolve`). A rule that throws
 * becomes a RuleError; so does the rule at which the evaluation runs over its time budget when
 * rules remain (they do not run), and a rule that met more of the object than it visits or keeps
 * (`budget.ts`). Findings come out in catalog order whichever pass ran their rule.
 */
export function runRules(targets: readonly Target[], policy: Policy, run: RunOptions): Finding[] {
  const { source, facts, ruleErrors, slowRules, request, only } = run;
  const plan = policy.bySource[source].byTarget;
  const { allowedRegistries, nodePoolKeys } = policy.config;
  const limits = policy.limits ?? DEFAULT_LIMITS;
  // Each rule's findings by its place in catalog order.
  const results: (RawFinding[] | undefined)[] = [];
  const started = performance.now();
  let last = started;
  let spentAt: string | undefined;
  let notApplied = 0;
  let oversized: Target[] | undefined;
  // One context for every rule of the evaluation, its options set per rule: rules are pure and
  // synchronous, so none keeps it, and a literal per rule was 35 objects per request.
  const context: RuleContext = { options: {}, allowedRegistries, nodePoolKeys, source, facts, request };
  for (const pass of PASSES) {
    let slot = 0;
    for (const target of targets) {
      const active = plan.get(target.type);
      if (!active) continue;
      for (const { rule, severity, options } of active) {
        if (only && !only.has(rule.id)) continue;
        const at = slot++;
        if ((severity === "deny") !== (pass === "deny")) continue;
        if (spentAt !== undefined) {
          notApplied++;
          continue;
        }
        let raw: RawFinding[] | undefined;
        try {
          context.options = options;
          raw = rule.check(target, context);
        } catch (error) {
          ruleErrors.push({ rule: rule.id, error: error instanceof Error ? error.message : String(error) });
        }
        const now = performance.now();
        const ms = now - last;
        last = now;
        const overBudget = now - started > limits.budgetMs;
        if (ms >= limits.slowRuleMs || overBudget) slowRules.push({ rule: rule.id, ms: roundMs(ms) });
        if (overBudget) spentAt = rule.id;
        if (target.type === "podSpec") {
          const total = containerTotalPastLimit(target);
          if (total !== undefined && !oversized?.includes(target)) {
            (oversized ??= []).push(target);
            ruleErrors.push({
              rule: rule.id,
              error: `the pod spec has ${total} containers; tollgate judges at most ${MAX_CONTAINERS}`,
              unfinished: "size",
            });
          }
        }
        if (!raw) continue;
        if (raw.length > MAX_FINDINGS_PER_RULE) {
          ruleErrors.push({
            rule: rule.id,
            error: `the rule found ${raw.length} violations on this object; tollgate keeps at most ${MAX_FINDINGS_PER_RULE}`,
            unfinished: "size",
          });
          raw = raw.slice(0, MAX_FINDINGS_PER_RULE);
        }
        results[at] = raw;
      }
    }
  }
  if (spentAt !== undefined && notApplied > 0) {
    ruleErrors.push({
      rule: spentAt,
      error: `the rules ran ${roundMs(last - started)} ms on this object, over the ${limits.budgetMs} ms budget; ${notApplied} later rule${notApplied === 1 ? " was" : "s were"} not applied`,
      unfinished: "time",
    });
  }
  const findings: Finding[] = [];
  let slot = 0;
  for (const target of targets) {
    const active = plan.get(target.type);
    if (!active) continue;
    for (const { rule, severity } of active) {
      if (only && !only.has(rule.id)) continue;
      const raw = results[slot++];
      if (!raw) continue;
      const { kind, namespace, name } = target.object;
      for (const found of raw) {
        // Only a policy binding's finding carries an action: the others are copied whole, without
        // the rest pattern's per-key exclusion (a runtime call, twice the cost of the copy).
        if (found.action === undefined) {
          findings.push({ rule: rule.id, severity, kind, namespace, name, ...found });
          continue;
        }
        const { action, ...finding } = found;
        // A policy binding's Warn or Audit lowers the rule's severity for its findings.
        const made: Finding = { rule: rule.id, severity: "warn", kind, namespace, name, ...finding };
        if (action === "audit") made.audit = true;
        findings.push(made);
      }
    }
  }
  return findings;
}
