/**
 * Limits on one evaluation, in time and in size. Rules are synchronous, so nothing can stop one
 * mid-run; the engine measures each rule and, once the evaluation as a whole is over budget, runs
 * no further rule, so that the request is answered well inside the apiserver's call timeout. What a
 * rule can visit is bounded too (`MAX_CONTAINERS` in `rules/visit.ts`, `MAX_FINDINGS_PER_RULE`), so
 * that no single rule runs or holds memory for as long as the object is large. An evaluation cut
 * short by either did not finish judging: it denies in enforce mode, whatever `onRuleError` says
 * (that is for rules that throw). RELIABILITY.md explains why there is no worker thread.
 */
export interface EvaluationLimits {
  /** A single rule run at least this long is reported as slow. */
  slowRuleMs: number;
  /** Once the rules together have run this long, the remaining rules are not applied. */
  budgetMs: number;
}

/** A rule pass takes microseconds; 50 ms on one rule is a bug or a pathological object. */
export const DEFAULT_LIMITS: Readonly<EvaluationLimits> = { slowRuleMs: 50, budgetMs: 500 };

/**
 * Findings one rule may report on one target; past it the rest are counted, not kept. Two per
 * container at MAX_CONTAINERS. A 7 MiB Pod holds 200 000 hostPath volumes, each a finding that the
 * exemptions, the ratchet and the answer would otherwise walk and hold.
 */
export const MAX_FINDINGS_PER_RULE = 2000;

/** One rule that ran slow on one target. */
export interface SlowRule {
  rule: string;
  ms: number;
}

/** Milliseconds rounded to a tenth, for logs and messages. */
export function roundMs(ms: number): number {
  return Math.round(ms * 10) / 10;
}
