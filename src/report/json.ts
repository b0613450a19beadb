import { namespaceStandings } from "./namespaces.js";
import { exemptedOf, findingsOf, notCoveredOf, type Report, summarize } from "./model.js";

/**
 * The JSON report, a contract for scripts and tests:
 * `{"findings":[{rule, severity, kind, namespace, name, file, line, path, container, message, fix}],
 *   "errors":[{file, line, message}], "notes":[…], "summary":{files, documents, objects, skipped,
 *   findings, deny, warn, errors, notCovered, exempted}, "notCovered":[{kind, apiVersion, count}]}`, where
 *   `kind` and `apiVersion` are null for documents that are no Kubernetes object, and
 *   `"exempted":[{…finding, exemption:{source, reason, until}}]` for findings an exemption covers
 *   (counted in `summary.exempted`, not in `findings`). Absent values are `null`, never missing keys.
 */
export function renderJson(report: Report): string {
  return `${JSON.stringify(
    {
      findings: findingsOf(report),
      errors: report.errors,
      notes: report.notes,
      summary: summarize(report),
      notCovered: notCoveredOf(report),
      exempted: exemptedOf(report),
      // audit: how each namespace stands against enforce mode (score, readiness).
      ...(report.command === "audit" ? { namespaces: namespaceStandings(report) } : {}),
    },
    null,
    2,
  )}\n`;
}
