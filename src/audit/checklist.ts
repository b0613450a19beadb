import type { Config } from "../config/schema.js";
import { type KindName, KINDS } from "../objects/kinds.js";
import type { ReportFinding } from "../report/model.js";
import { ALL_CHECKS } from "./checks/index.js";
import { NEWEST_KUBERNETES_MINOR } from "./checks/server-version-unsupported.js";
import type { Check, CheckContext } from "./checks/types.js";
import type { ClusterSnapshot } from "./snapshot.js";

export interface ChecklistOptions {
  now: Date;
  config: Config;
  newestMinor?: number;
}

export interface ChecklistResult {
  findings: ReportFinding[];
  notes: string[];
}

/**
 * Why a check cannot run: `missing permission to list nodes (core), secrets (core)` for what the API
 * refused (named as RBAC names it, so that the fix is a rule to grant), `cannot read Kind (not
 * served)` for the rest.
 */
function whyUnreadable(snapshot: ClusterSnapshot, kinds: readonly KindName[]): string {
  const refused = kinds.filter((kind) => snapshot.unavailable[kind] === "forbidden");
  const other = kinds.filter((kind) => snapshot.unavailable[kind] !== "forbidden");
  const parts: string[] = [];
  if (refused.length > 0) {
    const resources = refused.map((kind) => `${KINDS[kind].resource} (${KINDS[kind].group || "core"})`);
    parts.push(`missing permission to list ${resources.join(", ")}`);
  }
  if (other.length > 0) {
    parts.push(`cannot read ${other.map((kind) => `${kind} (${snapshot.unavailable[kind]})`).join(", ")}`);
  }
  return parts.join("; ");
}

/**
 * Run the checks (every one, unless told) over a snapshot. Pure: the clock and the config come in
 * as options. A check whose inputs could not be listed is skipped, and a note says which and why;
 * a check adds its own notes for what the API cannot tell it.
 */
export function runChecklist(
  snapshot: ClusterSnapshot,
  options: ChecklistOptions,
  checks: readonly Check[] = ALL_CHECKS,
): ChecklistResult {
  const findings: ReportFinding[] = [];
  const notes: string[] = [];
  for (const check of checks) {
    const ctx: CheckContext = {
      newestMinor: NEWEST_KUBERNETES_MINOR,
      ...options,
      note: (text) => notes.push(`${check.id}: ${text}`),
    };
    if (snapshot.namespace !== undefined && !check.namespaceScoped) {
      notes.push(`${check.id}: skipped, it needs the whole cluster (audit without --namespace)`);
      continue;
    }
    // Every needed kind that could not be listed, and the optional ones the API refused (an
    // optional kind that is not served is an answer, not a gap).
    const missing = [
      ...check.needs.filter((kind) => snapshot.unavailable[kind] !== undefined),
      ...(check.optional ?? []).filter((kind) => snapshot.unavailable[kind] === "forbidden"),
    ];
    if (missing.length > 0) {
      notes.push(`${check.id}: skipped, ${whyUnreadable(snapshot, missing)}`);
      continue;
    }
    findings.push(...check.run(snapshot, ctx));
  }
  return { findings, notes };
}

/** Drop checklist findings that a rule already reported on the same object. */
export function withoutCovered(checklist: readonly ReportFinding[], ruleFindings: readonly ReportFinding[]) {
  const reported = new Set(ruleFindings.map((f) => `${f.rule}|${f.kind}|${f.namespace}|${f.name}`));
  const coveredBy = new Map(ALL_CHECKS.filter((c) => c.coveredBy).map((c) => [c.id, c.coveredBy!]));
  return checklist.filter((f) => {
    const rule = coveredBy.get(f.rule);
    return rule === undefined || !reported.has(`${rule}|${f.kind}|${f.namespace}|${f.name}`);
  });
}
