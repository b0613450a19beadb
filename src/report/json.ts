import { arrayChunks, quote } from "./chunks.js";
import { namespaceStandings } from "./namespaces.js";
import { exemptedOf, findingsOf, notCoveredOf, type Report, type ReportFinding, summarize } from "./model.js";
import { scoresOf } from "./score.js";

/**
 * The JSON report, a contract for scripts and tests:
 * `{"findings":[{rule, severity, kind, namespace, name, file, line, path, container, message, fix}],
 *   "errors":[{file, line, message}], "notes":[…], "summary":{files, documents, objects, skipped,
 *   findings, deny, warn, errors, notCovered, exempted}, "notCovered":[{kind, apiVersion, count}]}`, where
 *   `kind` and `apiVersion` are null for documents that are no Kubernetes object, and
 *   `"exempted":[{…finding, exemption:{source, reason, until}}]` for findings an exemption covers
 *   (counted in `summary.exempted`, not in `findings`), and `"score":{score, checked, clean,
 *   groups:[{group, score, checked, clean}]}`: the objects checked with no deny finding, of the whole
 *   input and per file (`check`) or namespace (`audit`), lowest first. Absent values are `null`,
 *   never missing keys.
 */
export function* jsonChunks(report: Report): Generator<string, void, undefined> {
  const text = JSON.stringify(
    {
      findings: [],
      errors: report.errors,
      notes: report.notes,
      summary: summarize(report),
      notCovered: notCoveredOf(report),
      exempted: exemptedOf(report),
      score: scoreJson(report),
      // audit: how each namespace stands against enforce mode (score, readiness).
      ...(report.command === "audit" ? { namespaces: namespaceStandings(report) } : {}),
    },
    null,
    2,
  );
  const findings = findingsOf(report);
  if (findings.length === 0) {
    yield `${text}\n`;
    return;
  }
  yield `{\n  "findings": [\n`;
  yield* arrayChunks(findings, findingText);
  yield `\n  ]${text.slice(EMPTY_FINDINGS_START.length)}\n`;
}

/** How the report's text begins while its findings are still empty: `findings` is the first key. */
const EMPTY_FINDINGS_START = `{\n  "findings": []`;

const orNull = (text: string | null) => (text === null ? "null" : quote(text));

/**
 * One finding as `JSON.stringify(report, null, 2)` lays it out in `findings` (4 spaces in), written
 * out: 10,000 documents have some 70,000 findings, and the indenting serialiser walking them was
 * the largest single cost of `check --output json` (BENCHMARKS.md). The keys are the contract's,
 * in its order.
 */
function findingText(f: ReportFinding): string {
  return `    {
      "rule": ${quote(f.rule)},
      "severity": ${quote(f.severity)},
      "kind": ${quote(f.kind)},
      "namespace": ${quote(f.namespace)},
      "name": ${quote(f.name)},
      "file": ${orNull(f.file)},
      "line": ${f.line === null ? "null" : f.line},
      "path": ${quote(f.path)},
      "container": ${orNull(f.container)},
      "message": ${quote(f.message)},
      "fix": ${quote(f.fix)}
    }`;
}

function scoreJson(report: Report) {
  const { total, groups } = scoresOf(report);
  return {
    score: total.score,
    checked: total.checked,
    clean: total.clean,
    groups: groups.map(({ group, score, checked, clean }) => ({ group, score, checked, clean })),
  };
}
