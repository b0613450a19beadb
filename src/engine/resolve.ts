import type { Finding } from "../rules/types.js";
import type { SlowRule } from "./budget.js";
import { annotationExemption, applyExemptions } from "./exemptions.js";
import type { Policy } from "./policy.js";
import type { Prepared } from "./prepare.js";
import { applyRatchet } from "./ratchet.js";
import { type RuleError, runRules } from "./run.js";
import { refOf } from "../objects/object.js";
import { targetsOf } from "./prepare.js";

/**
 * Why the object is denied although no finding denies (enforce mode only): judging did not finish,
 * which denies whatever `onRuleError` says, or rules threw and the policy fails closed on them.
 */
export interface FailClosed {
  /** Why judging did not finish (time budget, size bounds). */
  unfinished: RuleError[];
  /** The rules that threw, once each, when `onRuleError` is `deny`. */
  failed: string[];
}

export interface Evaluation {
  /** Every finding, with the severity it ends with after mode, ratchet and exemptions. */
  findings: Finding[];
  /** The findings that deny. Empty in warn mode. */
  denials: Finding[];
  /** Rules that threw or did not finish; the handler logs and counts them. */
  ruleErrors: RuleError[];
  /** Rules that ran longer than the policy's `slowRuleMs`, and the one that spent the budget. */
  slowRules: SlowRule[];
  /** Why the object was not judged at all, when it was not. */
  skipped?: string;
  /** Warnings that are not findings: exemptions ignored and why, violations the ratchet let through. */
  notices: string[];
  /** Findings an exemption covers: neither denials nor warnings, kept for reports. */
  exempted: Finding[];
  /** Set when the object is denied for what could not be judged rather than for a finding. */
  failClosed?: FailClosed;
}

const EMPTY: readonly Finding[] = [];

/**
 * The last step, where every severity is decided: exemptions (config, then annotations) take
 * findings out, the ratchet turns deny findings the old object already had into warnings, warn
 * mode turns every finding into a warning (but for rules that are always enforced), and in
 * enforce mode an evaluation that did not finish, or whose rules threw under `onRuleError: deny`,
 * fails closed.
 */
export function resolve(
  prepared: Prepared,
  found: Finding[],
  ruleErrors: RuleError[],
  slowRules: SlowRule[],
  policy: Policy,
): Evaluation {
  const { input, fallbackNamespace } = prepared;
  const { config, registry } = policy;
  const alwaysEnforced = (finding: Finding) => registry.get(finding.rule)?.alwaysEnforced === true;
  const enforce = input.mode === "enforce";
  // Warn mode first, so that exempted findings carry the severity they would have had. The
  // findings were made by runRules for this evaluation alone: lowered in place, not copied.
  if (!enforce) for (const finding of found) if (!alwaysEnforced(finding)) finding.severity = "warn";
  const now = (input.now ?? new Date()).getTime();
  const annotation = annotationExemption({
    object: input.object,
    now,
    maxExemptionDays: config.maxExemptionDays,
    setByNonAdmin: prepared.exemptionSetByNonAdmin,
    knownRules: registry,
  });
  const notices = annotation.notices;
  let findings = found;
  let exempted: Finding[] = [];
  if (found.length > 0 && (policy.exemptions.length > 0 || annotation.grant !== undefined)) {
    const result = applyExemptions(found, policy.exemptions, annotation.grant, registry, now);
    findings = result.kept;
    exempted = result.exempted;
    notices.push(...result.notices);
  }
  const oldObject = input.oldObject;
  if (config.ratchet && input.operation === "UPDATE" && oldObject !== undefined && enforce) {
    const ratcheted = applyRatchet(
      findings,
      (rules) =>
        // The old object is judged as if it were created as it was: a policy's violation it
        // already had is ratcheted like a built-in rule's.
        runRules(
          targetsOf(
            { ...input, object: oldObject, oldObject: undefined, operation: "CREATE" },
            refOf(oldObject, fallbackNamespace),
            fallbackNamespace,
            policy,
          ),
          policy,
          {
            source: input.source,
            facts: input.facts,
            ruleErrors: [],
            slowRules: [],
            only: rules,
          },
        ),
      alwaysEnforced,
    );
    findings = ratcheted.findings;
    if (ratcheted.downgraded > 0) {
      const count = ratcheted.downgraded === 1 ? "1 violation" : `${ratcheted.downgraded} violations`;
      notices.push(`ratchet: ${count} the object already had warn instead of deny; new ones deny`);
    }
  }
  const denials =
    findings.length === 0 ? (EMPTY as Finding[]) : findings.filter((f) => f.severity === "deny");
  const evaluation: Evaluation = { findings, denials, ruleErrors, slowRules, notices, exempted };
  if (enforce && ruleErrors.length > 0) {
    const unfinished = ruleErrors.filter((e) => e.unfinished !== undefined);
    const failed =
      config.onRuleError === "deny"
        ? [...new Set(ruleErrors.filter((e) => e.unfinished === undefined).map((e) => e.rule))]
        : [];
    if (unfinished.length > 0 || failed.length > 0) evaluation.failClosed = { unfinished, failed };
  }
  return evaluation;
}
