import { findingsOf, notCoveredOf, type Report, summarize } from "./model.js";

/**
 * The JSON report, a contract for scripts and tests:
 * `{"findings":[{rule, severity, kind, namespace, name, file, line, path, container, message, fix}],
 *   "errors":[{file, line, message}], "notes":[…], "summary":{files, documents, objects, skipped,
 *   findings, deny, warn, errors, notCovered}, "notCovered":[{kind, apiVersion, count}]}`, where
 *   `kind` and `apiVersion` are null for documents that are no Kubernetes object. Absent values
 *   are `null`, never missing keys.
 */
export function renderJson(report: Report): string {
  return `${JSON.stringify(
    {
      findings: findingsOf(report),
      errors: report.errors,
      notes: report.notes,
      summary: summarize(report),
      notCovered: notCoveredOf(report),
    },
    null,
    2,
  )}\n`;
}
