import type { SlowRule } from "./budget.js";
import type { Policy } from "./policy.js";
import { type EvaluationInput, prepare } from "./prepare.js";
import { type Evaluation, resolve } from "./resolve.js";
import { type RuleError, runRules } from "./run.js";

export type { UserInfo } from "../objects/object.js";
export type { EvaluationInput, Operation } from "./prepare.js";
export type { Evaluation, FailClosed } from "./resolve.js";
export type { RuleError } from "./run.js";

function skip(reason: string): Evaluation {
  return {
    findings: [],
    denials: [],
    ruleErrors: [],
    slowRules: [],
    skipped: reason,
    notices: [],
    exempted: [],
  };
}

/**
 * Judge one object, in three named steps: `prepare` (identity, targets, requester, policy
 * metadata changes), `runRules` (the source's rules at their configured severity, inside the time
 * budget), `resolve` (exemptions, ratchet, mode, fail-closed: every severity decided there).
 * Pure apart from the clock, which is `input.now` when given, so the webhook, `check` and `audit`
 * give the same answer. The rules are timed only to stop a runaway evaluation (`budget.ts`).
 */
export function evaluate(input: EvaluationInput, policy: Policy): Evaluation {
  const prepared = prepare(input, policy);
  if ("skipped" in prepared) return skip(prepared.skipped);
  const ruleErrors: RuleError[] = [];
  const slowRules: SlowRule[] = [];
  const found = runRules(prepared.targets, policy, {
    source: input.source,
    facts: input.facts,
    ruleErrors,
    slowRules,
    request: prepared.request,
    only: prepared.only,
  });
  return resolve(prepared, found, ruleErrors, slowRules, policy);
}
