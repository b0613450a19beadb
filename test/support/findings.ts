import type { Report, ReportFinding } from "../../src/report/model.js";

/** A finding as reports carry it, `overrides` over plain values (rule `known`, a Pod `ns/p` in a.yaml). */
export function reportFinding(overrides: Partial<ReportFinding> = {}): ReportFinding {
  return {
    rule: "known",
    severity: "deny",
    kind: "Pod",
    namespace: "ns",
    name: "p",
    file: "a.yaml",
    line: 7,
    path: "spec.containers[name=web].image",
    container: "web",
    message: "m",
    fix: "f",
    ...overrides,
  };
}

/**
 * A plain finding, and one with nothing where it can be empty: not in the catalog, no file, no line,
 * no container, no path, a namespace of "", and text that needs escaping (quotes, a backslash, a
 * newline, a tab, U+2028, a lone surrogate, `</script>`). Writers that lay out text by hand are
 * checked against both.
 */
export const ODD_FINDINGS: readonly ReportFinding[] = [
  reportFinding(),
  reportFinding({
    rule: "unlisted",
    severity: "warn",
    namespace: "",
    name: 'we"ird\\name',
    file: null,
    line: null,
    path: "",
    container: null,
    message: "line one\nline two \u00e9 \u2028 \ud800 </script>",
    fix: "tab\there",
  }),
];

/** A `check` report of one Pod with `findings`, an input error and a note. */
export function reportOf(findings: readonly ReportFinding[], command: Report["command"] = "check"): Report {
  return {
    command,
    mode: "enforce",
    objects: [
      {
        kind: "Pod",
        namespace: "ns",
        name: "p",
        file: "a.yaml",
        line: 1,
        rules: ["known"],
        findings: [...findings],
      },
    ],
    errors: [{ file: "b.yaml", line: null, message: "broken" }],
    notes: ["a note"],
    files: 2,
    documents: 2,
  };
}
