import type { Report, ReportFinding, ReportObject } from "./model.js";

/** What `--rule`, `--skip-rule` and `--min-severity` leave in a report. */
export interface FindingFilter {
  /** Only these rules (`--rule`); undefined: every rule. */
  only: ReadonlySet<string> | undefined;
  /** Not these (`--skip-rule`). */
  skip: ReadonlySet<string>;
  /** `deny`: warnings are left out. */
  minSeverity: "warn" | "deny";
}

function keepsRule(filter: FindingFilter, rule: string): boolean {
  return (filter.only === undefined || filter.only.has(rule)) && !filter.skip.has(rule);
}

function keeps(filter: FindingFilter, finding: ReportFinding): boolean {
  return keepsRule(filter, finding.rule) && (filter.minSeverity === "warn" || finding.severity === "deny");
}

/**
 * The report with only the findings the filter keeps, exempted ones too, and each object's rules
 * narrowed to those kept (an object no kept rule looks at is then not covered: nothing checked
 * it in this run). Input errors and notices stay: they are about the input, not a rule.
 */
export function filterReport(report: Report, filter: FindingFilter): Report {
  if (filter.only === undefined && filter.skip.size === 0 && filter.minSeverity === "warn") return report;
  const objects = report.objects.map((object): ReportObject => {
    const exempted = object.exempted?.filter((finding) => keeps(filter, finding));
    const { exempted: _, ...rest } = object;
    return {
      ...rest,
      rules: object.rules.filter((rule) => keepsRule(filter, rule)),
      findings: object.findings.filter((finding) => keeps(filter, finding)),
      ...(exempted === undefined || exempted.length === 0 ? {} : { exempted }),
    };
  });
  return { ...report, objects };
}
