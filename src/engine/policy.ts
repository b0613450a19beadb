import type { Config } from "../config/schema.js";
import { RULES } from "../rules/index.js";
import type { Rule, Severity, TargetType } from "../rules/types.js";
import type { EvaluationLimits } from "./budget.js";

/** A rule as the config sets it: its severity (never `off`) and merged options. */
export interface ActiveRule {
  rule: Rule;
  severity: Exclude<Severity, "off">;
  options: Readonly<Record<string, unknown>>;
}

/** The config compiled once for the hot path: active rules grouped by the target they read. */
export interface Policy {
  config: Config;
  registry: ReadonlyMap<string, Rule>;
  byTarget: ReadonlyMap<TargetType, readonly ActiveRule[]>;
  /** Time limits on one evaluation; DEFAULT_LIMITS when absent. */
  limits?: EvaluationLimits;
}

export function compilePolicy(
  config: Config,
  registry: ReadonlyMap<string, Rule> = RULES,
  limits?: EvaluationLimits,
): Policy {
  const byTarget = new Map<TargetType, ActiveRule[]>();
  for (const rule of registry.values()) {
    const configured = config.rules[rule.id];
    const severity = configured?.severity ?? rule.defaultSeverity;
    if (severity === "off") continue;
    const active: ActiveRule = {
      rule,
      severity,
      options: { ...(rule.defaultOptions ?? {}), ...(configured?.options ?? {}) },
    };
    for (const type of rule.targets) {
      const list = byTarget.get(type) ?? [];
      list.push(active);
      byTarget.set(type, list);
    }
  }
  return limits ? { config, registry, byTarget, limits } : { config, registry, byTarget };
}
