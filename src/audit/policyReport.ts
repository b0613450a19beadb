import { createHash } from "node:crypto";
import type { Report, ReportFinding, ReportObject, RuleDescriptor } from "../report/model.js";
import { clipText } from "../rules/visit.js";

/**
 * Reports in the standard policy-report format, `wgpolicyk8s.io/v1alpha2`: what Policy Reporter
 * (v2 and v3), Kyverno (its default through 1.15), Kubewarden and Trivy write and read today. Its
 * successor `openreports.io/v1alpha1` is read by Policy Reporter 3.1+ and written by Kyverno only
 * behind a flag, so v1alpha2 reaches every UI and alert that reads reports now.
 */
export const REPORT_GROUP = "wgpolicyk8s.io";
export const REPORT_VERSION = "v1alpha2";
export const REPORT_API_VERSION = `${REPORT_GROUP}/${REPORT_VERSION}`;
/** Every report tollgate writes carries this name: one per namespace, and the cluster-wide one. */
export const REPORT_NAME = "tollgate";
export const CLUSTER_REPORT_NAME = "tollgate-cluster";
export const REPORT_SOURCE = "tollgate";
/** Results listed per report by default; the summary counts all of them. */
export const DEFAULT_MAX_RESULTS = 500;
/** A result's message, and each property value, is clipped to this many characters. */
export const MAX_TEXT = 512;
/** Annotation on a report whose results were cut to maxResults: how many are listed of how many. */
export const TRUNCATED_ANNOTATION = "tollgate.dev/results-listed";

export type ResultKind = "pass" | "fail" | "warn" | "error" | "skip";

export interface ReportSummary {
  pass: number;
  fail: number;
  warn: number;
  error: number;
  skip: number;
}

export interface ReportResult {
  source: string;
  policy: string;
  rule: string;
  category: string;
  severity: "high" | "medium";
  result: Exclude<ResultKind, "pass">;
  scored: boolean;
  message: string;
  resources: { apiVersion?: string; kind: string; namespace?: string; name: string }[];
  properties: Record<string, string>;
}

/** One report's content, before it becomes an object: exact counts and at most maxResults results. */
export interface ReportContent {
  /** The namespace, or undefined for the cluster-wide report. */
  namespace: string | undefined;
  summary: ReportSummary;
  results: ReportResult[];
  /** How many results there were before they were cut to maxResults. */
  total: number;
  /** Whether nothing in the namespace would be denied in enforce mode now (rule findings only). */
  enforceReady: boolean;
  /** A digest of the summary and results: the report is written only when it changes. */
  digest: string;
}

const ORDER: Record<ReportResult["result"], number> = { error: 0, fail: 1, warn: 2, skip: 3 };

function clip(text: string): string {
  return clipText(text, MAX_TEXT);
}

function resultOf(
  finding: ReportFinding,
  object: ReportObject,
  result: ReportResult["result"],
  descriptors: ReadonlyMap<string, RuleDescriptor>,
): ReportResult {
  const properties: Record<string, string> = { path: clip(finding.path) };
  if (finding.container !== null) properties.container = clip(finding.container);
  if (finding.fix !== "") properties.fix = clip(finding.fix);
  if (finding.exemption !== undefined) {
    properties["exemption.source"] = finding.exemption.source;
    properties["exemption.reason"] = clip(finding.exemption.reason);
    properties["exemption.until"] = finding.exemption.until;
  }
  // Exemptions the object asks for but does not get (expired, no reason, an unknown rule).
  const ignored = (object.notices ?? []).filter((notice) => notice.startsWith("exemption"));
  if (ignored.length > 0) properties.exemption = clip(ignored.join("; "));
  const resource: ReportResult["resources"][number] = { kind: object.kind, name: object.name };
  if (object.apiVersion !== undefined) resource.apiVersion = object.apiVersion;
  if (object.namespace !== "") resource.namespace = object.namespace;
  return {
    source: REPORT_SOURCE,
    policy: finding.rule,
    rule: finding.rule,
    category: descriptors.get(finding.rule)?.category ?? "cluster",
    severity: finding.severity === "deny" ? "high" : "medium",
    result,
    scored: true,
    message: clip(finding.message),
    resources: [resource],
    properties,
  };
}

/**
 * Whether enforce mode would deny the object as it is now: a deny finding of an admission rule
 * (a built-in rule or a policy), not of a cluster checklist item, which denies nothing. Readiness,
 * the promotion preview and `audit --preview enforce` all read it.
 */
export function deniedInEnforce(object: ReportObject, isAdmissionRule: (id: string) => boolean): boolean {
  return (
    object.skipped === undefined &&
    object.findings.some((finding) => finding.severity === "deny" && isAdmissionRule(finding.rule))
  );
}

/** The report an object's results go to: its namespace's, a Namespace's own, or the cluster's. */
function reportNamespace(object: ReportObject): string | undefined {
  if (object.kind === "Namespace" && object.namespace === "") return object.name;
  return object.namespace === "" ? undefined : object.namespace;
}

interface Building {
  namespace: string | undefined;
  summary: ReportSummary;
  results: ReportResult[];
  denied: boolean;
}

function building(namespace: string | undefined): Building {
  return { namespace, summary: { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 }, results: [], denied: false };
}

export interface PolicyReportOptions {
  maxResults: number;
  /** Rule descriptors by id (category). */
  descriptors: ReadonlyMap<string, RuleDescriptor>;
  /** The cluster's namespaces: each gets a report, an empty one when nothing there was judged. */
  namespaces: Iterable<string>;
  /** Whether a rule id is an admission rule (what enforce mode would deny), not a checklist item. */
  isAdmissionRule: (id: string) => boolean;
}

/**
 * An audit report as policy-report contents, one per namespace and one cluster-wide. A deny
 * finding is `fail`, a warn finding `warn`, an exempted one `skip` with the exemption's source,
 * reason and last day in its properties; each rule that looked at an object and found nothing
 * counts one `pass` (counted, not listed). Results are ordered fail, warn, skip, then by object
 * and rule, and cut to `maxResults`; the summary stays exact. Pure.
 */
export function policyReports(report: Report, options: PolicyReportOptions): ReportContent[] {
  const byNamespace = new Map<string | undefined, Building>();
  const at = (namespace: string | undefined) => {
    let entry = byNamespace.get(namespace);
    if (!entry) {
      entry = building(namespace);
      byNamespace.set(namespace, entry);
    }
    return entry;
  };
  at(undefined);
  for (const namespace of options.namespaces) at(namespace);
  for (const object of report.objects) {
    if (object.skipped !== undefined) continue;
    const entry = at(reportNamespace(object));
    const found = new Set<string>();
    for (const finding of object.findings) {
      found.add(finding.rule);
      const result = finding.severity === "deny" ? "fail" : "warn";
      entry.summary[result]++;
      entry.results.push(resultOf(finding, object, result, options.descriptors));
    }
    if (deniedInEnforce(object, options.isAdmissionRule)) entry.denied = true;
    for (const finding of object.exempted ?? []) {
      found.add(finding.rule);
      entry.summary.skip++;
      entry.results.push(resultOf(finding, object, "skip", options.descriptors));
    }
    for (const rule of object.rules) if (!found.has(rule)) entry.summary.pass++;
  }
  const contents: ReportContent[] = [];
  for (const entry of byNamespace.values()) {
    entry.results.sort(compareResults);
    const total = entry.results.length;
    const results = total > options.maxResults ? entry.results.slice(0, options.maxResults) : entry.results;
    contents.push({
      namespace: entry.namespace,
      summary: entry.summary,
      results,
      total,
      enforceReady: !entry.denied,
      digest: digestOf(entry.summary, results, total),
    });
  }
  return contents.sort((a, b) => (a.namespace ?? "").localeCompare(b.namespace ?? ""));
}

function compareResults(a: ReportResult, b: ReportResult): number {
  const [ra, rb] = [a.resources[0]!, b.resources[0]!];
  return (
    ORDER[a.result] - ORDER[b.result] ||
    ra.kind.localeCompare(rb.kind) ||
    ra.name.localeCompare(rb.name) ||
    a.rule.localeCompare(b.rule) ||
    a.message.localeCompare(b.message)
  );
}

function digestOf(summary: ReportSummary, results: readonly ReportResult[], total: number): string {
  return createHash("sha256").update(JSON.stringify({ summary, results, total })).digest("hex");
}

/** Labels on every report tollgate writes; the scanner lists its own reports by them. */
export const REPORT_LABELS = { "app.kubernetes.io/managed-by": "tollgate" } as const;

/**
 * The PolicyReport (namespace) or ClusterPolicyReport object for a content, stamped with `now`
 * on every result (the content digest leaves the time out, so an unchanged report is not rewritten).
 */
export function policyReportObject(content: ReportContent, now: Date): Record<string, unknown> {
  const seconds = Math.floor(now.getTime() / 1000);
  const annotations: Record<string, string> = { "tollgate.dev/digest": content.digest };
  if (content.total > content.results.length) {
    annotations[TRUNCATED_ANNOTATION] = `${content.results.length} of ${content.total}`;
  }
  const metadata: Record<string, unknown> = {
    name: content.namespace === undefined ? CLUSTER_REPORT_NAME : REPORT_NAME,
    labels: { ...REPORT_LABELS },
    annotations,
  };
  if (content.namespace !== undefined) metadata.namespace = content.namespace;
  return {
    apiVersion: REPORT_API_VERSION,
    kind: content.namespace === undefined ? "ClusterPolicyReport" : "PolicyReport",
    metadata,
    ...(content.namespace === undefined
      ? {}
      : { scope: { apiVersion: "v1", kind: "Namespace", name: content.namespace } }),
    summary: content.summary,
    results: content.results.map((result) => ({ ...result, timestamp: { seconds, nanos: 0 } })),
  };
}
