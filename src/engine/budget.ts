/**
 * Time limits on one evaluation. Rules are synchronous, so nothing can stop one mid-run; the
 * engine measures each rule and, once the evaluation as a whole is over budget, runs no further
 * rule, so that the request is answered (fail-open or fail-closed per `onRuleError`) well inside
 * the apiserver's call timeout. RELIABILITY.md explains why there is no worker thread.
 */
export interface EvaluationLimits {
  /** A single rule run at least this long is reported as slow. */
  slowRuleMs: number;
  /** Once the rules together have run this long, the remaining rules are not applied. */
  budgetMs: number;
}

/** A rule pass takes microseconds; 50 ms on one rule is a bug or a pathological object. */
export const DEFAULT_LIMITS: Readonly<EvaluationLimits> = { slowRuleMs: 50, budgetMs: 500 };

/** One rule that ran slow on one target. */
export interface SlowRule {
  rule: string;
  ms: number;
}

/** Milliseconds rounded to a tenth, for logs and messages. */
export function roundMs(ms: number): number {
  return Math.round(ms * 10) / 10;
}
