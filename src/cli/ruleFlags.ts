import type { FindingFilter } from "../report/filter.js";
import { didYouMean } from "../suggest.js";
import { UsageError } from "./args.js";

/** The flags `check` and `audit` share to narrow what they report. */
export const RULE_FLAGS = {
  rule: { type: "string", multiple: true },
  "skip-rule": { type: "string", multiple: true },
  "min-severity": { type: "string" },
} as const;

export const RULE_FLAGS_HELP = `  --rule ID        report only this rule (repeatable); an object no such rule looks at is
                   counted as not covered
  --skip-rule ID   leave this rule out (repeatable)
  --min-severity S warn (default) or deny: deny leaves warnings out`;

/**
 * The filter the flags ask for, every id checked against `known` (the rules, policies and
 * checklist items the command runs): an unknown id is a usage error with the nearest known id,
 * since a misspelt `--skip-rule` would otherwise skip nothing and say nothing.
 */
export function findingFilterFrom(
  values: {
    rule?: string[] | undefined;
    "skip-rule"?: string[] | undefined;
    "min-severity"?: string | undefined;
  },
  known: Iterable<string>,
): FindingFilter {
  const ids = new Set(known);
  const checked = (flag: string, given: readonly string[]) => {
    for (const id of given) {
      if (!ids.has(id)) {
        throw new UsageError(
          `${flag} ${JSON.stringify(id)} is no rule${didYouMean(id, ids)}; 'tollgate rules' lists them`,
        );
      }
    }
    return new Set(given);
  };
  return {
    only: values.rule === undefined ? undefined : checked("--rule", values.rule),
    skip: checked("--skip-rule", values["skip-rule"] ?? []),
    minSeverity: minSeverityOf(values["min-severity"]),
  };
}

function minSeverityOf(value: string | undefined): "warn" | "deny" {
  if (value === undefined || value === "warn" || value === "deny") return value ?? "warn";
  throw new UsageError(`--min-severity must be one of warn, deny, got ${JSON.stringify(value)}`);
}
