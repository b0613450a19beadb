import type { Category, ExemptionRef, Finding, Mode, Rule, Severity } from "../rules/types.js";

/** A finding as `check` and `audit` report it: where it is (file and line, when read from a file). */
export interface ReportFinding {
  rule: string;
  severity: Exclude<Severity, "off">;
  kind: string;
  namespace: string;
  name: string;
  file: string | null;
  line: number | null;
  path: string;
  container: string | null;
  message: string;
  fix: string;
  /** On an exempted finding only: the exemption that covers it (its source, reason and last day). */
  exemption?: ExemptionRef;
}

/** An object that was judged, with its findings; reports group by it. */
export interface ReportObject {
  kind: string;
  /** The object's apiVersion, for naming what no rule covers. */
  apiVersion?: string;
  namespace: string;
  name: string;
  file: string | null;
  line: number | null;
  /** Ids of the rules that looked at the object (for JUnit's passing cases). */
  rules: string[];
  /** Why the object was not judged, when it was not (excluded namespace, owned Pod). */
  skipped?: string;
  findings: ReportFinding[];
  /**
   * Findings an exemption covers: they neither deny nor warn, but are reported with the exemption's
   * reason and expiry, never silently dropped. Absent when there are none.
   */
  exempted?: ReportFinding[];
  /**
   * What the webhook would also say about the object besides its findings: exemptions it ignored
   * and why (no reason, expired, an unknown rule id), violations the ratchet let through.
   */
  notices?: string[];
}

/** An input the command could not judge: broken YAML, a document without kind, a missing permission. */
export interface ReportError {
  file: string | null;
  line: number | null;
  message: string;
}

export interface Summary {
  files: number;
  documents: number;
  objects: number;
  skipped: number;
  findings: number;
  deny: number;
  warn: number;
  errors: number;
  /** Objects no rule looked at, and documents that are no Kubernetes object: not checked. */
  notCovered: number;
  /** Findings an exemption covers (not in `findings`, `deny` or `warn`). */
  exempted: number;
}

/** What was read but not checked, by kind and apiVersion (both null: not a Kubernetes object). */
export interface NotCovered {
  kind: string | null;
  apiVersion: string | null;
  count: number;
}

export interface Report {
  command: "check" | "audit";
  mode: Mode;
  objects: ReportObject[];
  errors: ReportError[];
  /** What the command could not look at and why (e.g. a CRD that is not installed). */
  notes: string[];
  files: number;
  documents: number;
  /** Documents read that are no Kubernetes object (`check`): skipped, and named as not covered. */
  nonObjects?: ReportError[];
  /** The one namespace an audit was limited to (`--namespace`); absent when it covered the cluster. */
  namespace?: string;
}

/** What SARIF and the docs say about a rule or a checklist item. */
export interface RuleDescriptor {
  id: string;
  title: string;
  category: Category | "cluster";
  defaultSeverity: Severity;
  description: string;
  remediation: string;
}

export function describeRule(rule: Rule): RuleDescriptor {
  return {
    id: rule.id,
    title: rule.title,
    category: rule.category,
    defaultSeverity: rule.defaultSeverity,
    description: rule.description,
    remediation: rule.remediation,
  };
}

/** An engine finding placed in a file (or not, for audit). */
export function reportFinding(finding: Finding, file: string | null, line: number | null): ReportFinding {
  return {
    rule: finding.rule,
    severity: finding.severity,
    kind: finding.kind,
    namespace: finding.namespace,
    name: finding.name,
    file,
    line,
    path: finding.path,
    container: finding.container ?? null,
    message: finding.message,
    fix: finding.fix,
    ...(finding.exemption === undefined ? {} : { exemption: finding.exemption }),
  };
}

/** Every exempted finding of the report, object by object. */
export function exemptedOf(report: Report): ReportFinding[] {
  return report.objects.flatMap((object) => object.exempted ?? []);
}

/** An object no rule looked at: of a kind no rule covers (a custom resource, a ConfigMap). */
export function isNotCovered(object: ReportObject): boolean {
  return object.skipped === undefined && object.rules.length === 0;
}

/** What was not checked, grouped by kind and apiVersion in reading order; non-objects last. */
export function notCoveredOf(report: Report): NotCovered[] {
  const groups = new Map<string, NotCovered>();
  for (const object of report.objects) {
    if (!isNotCovered(object)) continue;
    const apiVersion = object.apiVersion ?? null;
    const key = `${object.kind} ${apiVersion}`;
    const group = groups.get(key);
    if (group) group.count++;
    else groups.set(key, { kind: object.kind, apiVersion, count: 1 });
  }
  const others = report.nonObjects?.length ?? 0;
  return [...groups.values(), ...(others > 0 ? [{ kind: null, apiVersion: null, count: others }] : [])];
}

export function findingsOf(report: Report): ReportFinding[] {
  return report.objects.flatMap((object) => object.findings);
}

/** Counted object by object: a report of 10,000 documents has some 70,000 findings to not copy. */
export function summarize(report: Report): Summary {
  let findings = 0;
  let deny = 0;
  let skipped = 0;
  let notCovered = report.nonObjects?.length ?? 0;
  let exempted = 0;
  for (const object of report.objects) {
    exempted += object.exempted?.length ?? 0;
    if (object.skipped !== undefined) skipped++;
    if (isNotCovered(object)) notCovered++;
    findings += object.findings.length;
    for (const finding of object.findings) if (finding.severity === "deny") deny++;
  }
  return {
    files: report.files,
    documents: report.documents,
    objects: report.objects.length,
    skipped,
    findings,
    deny,
    warn: findings - deny,
    errors: report.errors.length,
    notCovered,
    exempted,
  };
}

/**
 * The exit code both commands share: 2 when any input could not be judged (it trumps, since a
 * clean result over half the input proves nothing), 1 when a finding denies, else 0.
 */
export function exitCodeOf(report: Report): number {
  if (report.errors.length > 0) return 2;
  return report.objects.some((object) => object.findings.some((f) => f.severity === "deny")) ? 1 : 0;
}

/** `Kind namespace/name`, or `Kind name` for cluster-scoped objects. */
export function objectLabel(object: { kind: string; namespace: string; name: string }): string {
  const name = object.name === "" ? "(unnamed)" : object.name;
  if (object.kind === "") return name;
  return object.namespace === "" ? `${object.kind} ${name}` : `${object.kind} ${object.namespace}/${name}`;
}
