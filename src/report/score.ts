import { isNotCovered, type Report, type ReportObject } from "./model.js";

/**
 * A number a person can track over time: of the objects checked in a group (a file for `check`,
 * a namespace for `audit`), the share with no deny finding, as 0 to 100. Objects skipped or of
 * a kind no rule covers are not counted; a warning does not lower it; exempted findings do not
 * either, since the exemption is someone's decision.
 */
export interface Score {
  /** The file, the namespace, or `(cluster-scoped)`. */
  group: string;
  checked: number;
  clean: number;
  score: number;
}

/** Rounded down, so that 199 clean objects of 200 do not read as a perfect 100. */
export function scoreValue(clean: number, checked: number): number {
  return checked === 0 ? 100 : Math.floor((100 * clean) / checked);
}

function isChecked(object: ReportObject): boolean {
  return object.skipped === undefined && !isNotCovered(object);
}

/**
 * The group an object is scored in: its file for `check`; for `audit`, its namespace (a
 * Namespace counts in its own, where the checklist's namespace items land too).
 */
export function scoreGroupOf(report: Report, object: ReportObject): string {
  if (report.command === "check") return object.file ?? "(no file)";
  if (object.kind === "Namespace") return object.name;
  return object.namespace === "" ? "(cluster-scoped)" : object.namespace;
}

/**
 * The score of each group that has a checked object, lowest first (then by name), and the
 * score of the whole report, whose group is `all`.
 */
export function scoresOf(report: Report): { groups: Score[]; total: Score } {
  const groups = new Map<string, Score>();
  let checked = 0;
  let clean = 0;
  for (const object of report.objects) {
    if (!isChecked(object)) continue;
    const name = scoreGroupOf(report, object);
    const group = groups.get(name) ?? { group: name, checked: 0, clean: 0, score: 0 };
    groups.set(name, group);
    const passes = !object.findings.some((finding) => finding.severity === "deny");
    group.checked++;
    checked++;
    if (passes) {
      group.clean++;
      clean++;
    }
  }
  const scored = [...groups.values()].map((g) => ({ ...g, score: scoreValue(g.clean, g.checked) }));
  scored.sort((a, b) => a.score - b.score || (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
  return { groups: scored, total: { group: "all", checked, clean, score: scoreValue(clean, checked) } };
}
