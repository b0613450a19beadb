import { isNotCovered, type Report } from "./model.js";

/** How one namespace stands against enforce mode. Cluster-scoped objects are the namespace `""`. */
export interface NamespaceStanding {
  namespace: string;
  /** Objects the rules looked at: neither skipped nor of a kind no rule covers. */
  judged: number;
  /** Judged objects with at least one deny finding: enforce mode would refuse them. */
  denied: number;
  /** Findings on the namespace's objects (deny and warn; exempted ones are not findings). */
  findings: number;
  /** `100 × (judged − denied) / judged`, rounded: the share of its objects enforce mode admits. */
  score: number;
  /** True when enforce mode would deny none of its objects. */
  ready: boolean;
}

/**
 * Every namespace that holds a judged object, in name order (cluster-scoped first, as `""`), with
 * its score and readiness. Both read the deny findings, so they mean what they say for a report
 * made in enforce mode only: in warn mode nothing denies.
 */
export function namespaceStandings(report: Report): NamespaceStanding[] {
  const byName = new Map<string, { judged: number; denied: number; findings: number }>();
  for (const object of report.objects) {
    if (object.skipped !== undefined || isNotCovered(object)) continue;
    let entry = byName.get(object.namespace);
    if (!entry) {
      entry = { judged: 0, denied: 0, findings: 0 };
      byName.set(object.namespace, entry);
    }
    entry.judged++;
    entry.findings += object.findings.length;
    if (object.findings.some((finding) => finding.severity === "deny")) entry.denied++;
  }
  return [...byName.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([namespace, { judged, denied, findings }]) => ({
      namespace,
      judged,
      denied,
      findings,
      score: Math.round((100 * (judged - denied)) / judged),
      ready: denied === 0,
    }));
}
