import { policyMetadataChanges } from "../rules/annotations.js";
import type {
  ClusterFacts,
  Finding,
  Mode,
  RawFinding,
  RequestContext,
  Source,
  Target,
} from "../rules/types.js";
import { annotationExemption, applyExemptions } from "./exemptions.js";
import { containerTotalPastLimit, MAX_CONTAINERS } from "../rules/visit.js";
import { DEFAULT_LIMITS, MAX_FINDINGS_PER_RULE, roundMs, type SlowRule } from "./budget.js";
import type { Policy } from "./policy.js";
import { isPolicyAdmin, requesterName } from "./protected.js";
import { applyRatchet } from "./ratchet.js";
import { extractTargets } from "./targets.js";
import { controllerOf, type KubeObject, refOf, type UserInfo } from "../objects/object.js";

export type { UserInfo };

export type Operation = "CREATE" | "UPDATE" | "DELETE" | "CONNECT";

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
  /** The clock for exemption expiry; the current time when absent. */
  now?: Date | undefined;
}

export interface RuleError {
  rule: string;
  error: string;
  /**
   * Judging did not finish at this rule: `time`, the evaluation ran over its budget here and the
   * rules after it were not applied; `size`, the object holds more than the rule visits or keeps.
   */
  unfinished?: "time" | "size";
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
  /**
   * Warnings that are not findings: exemptions ignored and why, violations the ratchet let through.
   * Always set by evaluate().
   */
  notices?: string[];
  /** Findings an exemption covers: neither denials nor warnings, kept for reports. Always set by evaluate(). */
  exempted?: Finding[];
}

const EMPTY: readonly Finding[] = [];

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
 * Run the rules that apply to each target of the object. A rule that throws becomes a RuleError;
 * so does the rule at which the evaluation runs over its time budget when rules remain (they do not
 * run), and a rule that met more of the object than it visits or keeps (`budget.ts`).
 */
interface RunOptions {
  mode: Mode;
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

export function runRules(targets: readonly Target[], policy: Policy, run: RunOptions): Finding[] {
  const { mode, source, facts, ruleErrors, slowRules, request, only } = run;
  const { allowedRegistries, nodePoolKeys } = policy.config;
  const limits = policy.limits ?? DEFAULT_LIMITS;
  // Each rule's findings by its place in catalog order, so that the findings come out in that order
  // whichever pass ran the rule.
  const results: (RawFinding[] | undefined)[] = [];
  const started = performance.now();
  let last = started;
  let spentAt: string | undefined;
  let notApplied = 0;
  let oversized: Target[] | undefined;
  for (const pass of PASSES) {
    let slot = 0;
    for (const target of targets) {
      const active = policy.byTarget.get(target.type);
      if (!active) continue;
      for (const { rule, severity, options } of active) {
        if (rule.sources && !rule.sources.includes(source)) continue;
        if (only && !only.has(rule.id)) continue;
        const at = slot++;
        if ((severity === "deny") !== (pass === "deny")) continue;
        if (spentAt !== undefined) {
          notApplied++;
          continue;
        }
        let raw: RawFinding[] | undefined;
        try {
          raw = rule.check(target, { options, allowedRegistries, nodePoolKeys, source, facts, request });
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
    const active = policy.byTarget.get(target.type);
    if (!active) continue;
    for (const { rule, severity } of active) {
      if (rule.sources && !rule.sources.includes(source)) continue;
      if (only && !only.has(rule.id)) continue;
      const raw = results[slot++];
      if (!raw) continue;
      for (const finding of raw) {
        findings.push({
          rule: rule.id,
          severity: mode === "warn" && !rule.alwaysEnforced ? "warn" : severity,
          kind: target.object.kind,
          namespace: target.object.namespace,
          name: target.object.name,
          ...finding,
        });
      }
    }
  }
  return findings;
}

/**
 * Subresources whose writes keep the object's metadata (labels, annotations) but not its spec: a
 * status update cannot make a Pod privileged, but it can set the mode label or an exemption
 * annotation, so only `protected-policy-label` judges it.
 */
const METADATA_ONLY_SUBRESOURCES: ReadonlySet<string> = new Set(["status", "finalize"]);
const POLICY_METADATA_RULES: ReadonlySet<string> = new Set(["protected-policy-label"]);

/**
 * May a controlled Pod be skipped as already judged? Only when a workload controller creates it
 * (the webhook) or it already runs in the cluster (audit). Anyone can write `ownerReferences`, so a
 * Pod that a person applies, or that `check` reads from a file, is judged like any other.
 */
function ownerIsTrusted(input: EvaluationInput, config: Policy["config"]): boolean {
  if (input.source === "audit") return true;
  if (input.source !== "admission") return false;
  const username = input.userInfo?.username;
  return username !== undefined && config.workloadControllers.includes(username);
}

/**
 * Judge one object: pick its targets, run the rules, then resolve each finding's severity through
 * exemptions and, on UPDATE, the ratchet. Pure apart from the clock, which is `input.now` when
 * given, so the webhook, `check` and `audit` give the same answer.
 * The rules are timed only to stop a runaway evaluation (`budget.ts`), which no healthy rule meets.
 */
export function evaluate(input: EvaluationInput, policy: Policy): Evaluation {
  const { config } = policy;
  if (input.operation === "DELETE" || input.operation === "CONNECT")
    return skip(`${input.operation} is not checked`);
  const fallbackNamespace = input.namespace ?? "";
  const ref = refOf(input.object, fallbackNamespace);
  const namespace = ref.kind === "Namespace" ? ref.name : ref.namespace;
  // The webhook never sees excluded namespaces and audit leaves them out, but `check` judges
  // whatever files it is given: a manifest is not exempt because of the namespace it names.
  if (input.source !== "check" && namespace !== "" && config.excludedNamespaces.includes(namespace)) {
    return skip(`namespace ${namespace} is excluded`);
  }
  if (ref.kind === "Pod" && config.skipOwnedPods && !input.subResource && ownerIsTrusted(input, config)) {
    const owner = controllerOf(input.object);
    if (owner) return skip(`Pod is controlled by a ${owner}, whose template was checked`);
  }
  // Only the webhook knows who asks; `check` and `audit` judge the object as it is.
  const request: RequestContext | undefined =
    input.source === "admission"
      ? {
          operation: input.operation,
          object: input.object,
          oldObject: input.oldObject,
          requester: requesterName(input.userInfo),
          requesterIsPolicyAdmin: isPolicyAdmin(input.userInfo, config.policyAdmins),
        }
      : undefined;
  const ruleErrors: RuleError[] = [];
  const slowRules: SlowRule[] = [];
  const found = runRules(extractTargets(input.object, fallbackNamespace), policy, {
    mode: input.mode,
    source: input.source,
    facts: input.facts,
    ruleErrors,
    slowRules,
    request,
    only: METADATA_ONLY_SUBRESOURCES.has(input.subResource ?? "") ? POLICY_METADATA_RULES : undefined,
  });
  const now = (input.now ?? new Date()).getTime();
  const setByNonAdmin =
    request !== undefined &&
    !request.requesterIsPolicyAdmin &&
    policyMetadataChanges(input.object, input.oldObject).annotations.length > 0
      ? request.requester
      : undefined;
  const annotation = annotationExemption({
    object: input.object,
    now,
    maxExemptionDays: config.maxExemptionDays,
    setByNonAdmin,
    knownRules: policy.registry,
  });
  const notices = annotation.notices;
  let findings = found;
  let exempted: Finding[] = [];
  if (found.length > 0 && (config.exemptions.length > 0 || annotation.grant !== undefined)) {
    const result = applyExemptions(found, config, annotation.grant, policy.registry, now);
    findings = result.kept;
    exempted = result.exempted;
    notices.push(...result.notices);
  }
  const oldObject = input.oldObject;
  if (config.ratchet && input.operation === "UPDATE" && oldObject !== undefined && input.mode === "enforce") {
    const ratcheted = applyRatchet(
      findings,
      (rules) =>
        runRules(extractTargets(oldObject, fallbackNamespace), policy, {
          mode: input.mode,
          source: input.source,
          facts: input.facts,
          ruleErrors: [],
          slowRules: [],
          only: rules,
        }),
      (finding) => policy.registry.get(finding.rule)?.alwaysEnforced === true,
    );
    findings = ratcheted.findings;
    if (ratcheted.downgraded > 0) {
      const count = ratcheted.downgraded === 1 ? "1 violation" : `${ratcheted.downgraded} violations`;
      notices.push(`ratchet: ${count} the object already had warn instead of deny; new ones deny`);
    }
  }
  const denials =
    findings.length === 0 ? (EMPTY as Finding[]) : findings.filter((f) => f.severity === "deny");
  return { findings, denials, ruleErrors, slowRules, notices, exempted };
}
