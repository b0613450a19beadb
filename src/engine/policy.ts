import type { Config } from "../config/schema.js";
import { RULES } from "../rules/index.js";
import type { Rule, Severity, Source, TargetType } from "../rules/types.js";
import type { EvaluationLimits } from "./budget.js";
import type { PolicySet } from "../vap/load.js";
import { type CompiledConfigExemption, compileConfigExemptions } from "./exemptions.js";
import { vapRules } from "./vapRules.js";
import { type TemplateKinds, templateKinds } from "../objects/kinds.js";

/** A rule as the config sets it: its severity (never `off`) and merged options. */
export interface ActiveRule {
  rule: Rule;
  severity: Exclude<Severity, "off">;
  options: Readonly<Record<string, unknown>>;
}

export const SOURCES: readonly Source[] = ["admission", "check", "audit"];

/** Does the rule run in this source? A rule that names no sources runs in all of them. */
export function runsIn(rule: Rule, source: Source): boolean {
  return rule.sources === undefined || rule.sources.includes(source);
}

/** What runs in one source (the webhook, `check`, `audit`), worked out once per config. */
export interface SourcePlan {
  /** The active rules that run here, by the target they read, in catalog order. */
  byTarget: ReadonlyMap<TargetType, readonly ActiveRule[]>;
  /**
   * The kinds of every registered rule that runs here, whatever severity the config gives it now,
   * sorted: the webhook configuration is written once and outlives a reload that turns a rule on.
   */
  kinds: readonly string[];
}

/** The config compiled once for the hot path: the rules of each source, the exemptions ready to match. */
export interface Policy {
  config: Config;
  registry: ReadonlyMap<string, Rule>;
  bySource: Readonly<Record<Source, SourcePlan>>;
  /** `config.exemptions` with globs and dates compiled. */
  exemptions: readonly CompiledConfigExemption[];
  /** The custom resources of `config.podTemplates`, by `<group>/<kind>`. */
  templates: TemplateKinds;
  /** Time limits on one evaluation; DEFAULT_LIMITS when absent. */
  limits?: EvaluationLimits;
  /** The ValidatingAdmissionPolicies loaded beside the config, whose rules are in `registry`. */
  policies?: PolicySet;
}

/** The kinds of the rules that run in `source`, sorted. */
export function kindsRunIn(rules: Iterable<Rule>, source: Source): string[] {
  const kinds = new Set<string>();
  for (const rule of rules) if (runsIn(rule, source)) for (const kind of rule.kinds) kinds.add(kind);
  return [...kinds].sort();
}

function planFor(
  source: Source,
  active: readonly ActiveRule[],
  registry: ReadonlyMap<string, Rule>,
): SourcePlan {
  const byTarget = new Map<TargetType, ActiveRule[]>();
  for (const entry of active) {
    if (!runsIn(entry.rule, source)) continue;
    for (const type of entry.rule.targets) {
      const list = byTarget.get(type) ?? [];
      list.push(entry);
      byTarget.set(type, list);
    }
  }
  return { byTarget, kinds: kindsRunIn(registry.values(), source) };
}

/**
 * The config compiled for evaluation. `policies` (ValidatingAdmissionPolicies) join the registry as
 * rules of their own, after the built-in ones.
 */
export function compilePolicy(
  config: Config,
  builtIn: ReadonlyMap<string, Rule> = RULES,
  limits?: EvaluationLimits,
  policies?: PolicySet,
): Policy {
  const registry: ReadonlyMap<string, Rule> =
    policies === undefined || policies.policies.length === 0
      ? builtIn
      : new Map<string, Rule>([
          ...builtIn,
          ...vapRules(policies).map((rule): [string, Rule] => [rule.id, rule as Rule]),
        ]);
  const active: ActiveRule[] = [];
  for (const rule of registry.values()) {
    const configured = config.rules[rule.id];
    const severity = configured?.severity ?? rule.defaultSeverity;
    if (severity === "off") continue;
    active.push({
      rule,
      severity,
      options: { ...(rule.defaultOptions ?? {}), ...(configured?.options ?? {}) },
    });
  }
  const bySource = {
    admission: planFor("admission", active, registry),
    check: planFor("check", active, registry),
    audit: planFor("audit", active, registry),
  };
  const exemptions = compileConfigExemptions(config.exemptions);
  const templates = templateKinds(config.podTemplates);
  const policy: Policy = { config, registry, bySource, exemptions, templates };
  if (limits) policy.limits = limits;
  if (policies !== undefined && policies.policies.length > 0) policy.policies = policies;
  return policy;
}
