import {
  type NotCovered,
  notCoveredOf,
  objectLabel,
  type Report,
  type ReportError,
  type ReportFinding,
  type ReportObject,
  summarize,
} from "./model.js";
import { scoresOf } from "./score.js";
import { wrapLines } from "./wrap.js";

/** How the text report is laid out. */
export interface TextOptions {
  color: boolean;
  /** Columns to fit: the terminal's, or `DEFAULT_WIDTH` off a terminal. */
  width: number;
  /** Each finding's field path and fix under it, instead of one fix per rule at the end. */
  explain: boolean;
}

/** Off a terminal (a CI log, a file, a pipe): wide enough for a finding's line on typical charts. */
export const DEFAULT_WIDTH = 100;

/**
 * The terminal's width when the stream is one, else `$COLUMNS` when it is a number (a pager, a
 * CI log of known width), else `DEFAULT_WIDTH`.
 */
export function terminalWidth(
  stream: { isTTY?: boolean; columns?: number },
  env: Readonly<Record<string, string | undefined>> = {},
): number {
  const columns = stream.columns;
  if (stream.isTTY === true && columns !== undefined && columns > 0) return columns;
  const fromEnv = Number(env.COLUMNS);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : DEFAULT_WIDTH;
}

/**
 * Colour only on a terminal: `NO_COLOR` (any non-empty value) turns it off, `FORCE_COLOR`
 * (anything but `0`) turns it on, else it follows whether the stream is a TTY.
 */
export function colorWanted(
  stream: { isTTY?: boolean },
  env: Readonly<Record<string, string | undefined>>,
): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== "0" && env.FORCE_COLOR !== "false";
  return stream.isTTY === true;
}

/** The layout for a stream: its colour, its width, and whether each finding's fix is shown. */
export function textOptionsFor(
  stream: { isTTY?: boolean; columns?: number },
  env: Readonly<Record<string, string | undefined>>,
  explain: boolean,
): TextOptions {
  return { color: colorWanted(stream, env), width: terminalWidth(stream, env), explain };
}

interface Paint {
  red(text: string): string;
  yellow(text: string): string;
  green(text: string): string;
  bold(text: string): string;
  dim(text: string): string;
}

function sgr(open: number, close: number): (text: string) => string {
  return (text) => `\u001b[${open}m${text}\u001b[${close}m`;
}

const COLOR: Paint = {
  red: sgr(31, 39),
  yellow: sgr(33, 39),
  green: sgr(32, 39),
  bold: sgr(1, 22),
  dim: sgr(2, 22),
};

const identity = (text: string) => text;
const PLAIN: Paint = { red: identity, yellow: identity, green: identity, bold: identity, dim: identity };

function where(file: string | null, line: number | null): string {
  if (file === null) return "";
  return line === null ? file : `${file}:${line}`;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

type Tag = "deny" | "warn" | "exempt" | "notice";

/** One line of an object: a finding, an exempted finding, or a notice (which has no rule). */
interface Row {
  line: string;
  tag: Tag;
  rule: string;
  text: string;
  /** Under the row with --explain: where the finding is and how to fix it. */
  details: string[];
}

function paintTag(tag: Tag, paint: Paint): string {
  if (tag === "deny") return paint.red(tag);
  if (tag === "warn" || tag === "notice") return paint.yellow(tag);
  return paint.dim(tag);
}

/** Findings in the order of their lines (a finding without a line keeps its place among equals). */
function inLineOrder(findings: readonly ReportFinding[]): ReportFinding[] {
  return findings
    .map((finding, index) => ({ finding, index }))
    .sort((a, b) => (a.finding.line ?? 0) - (b.finding.line ?? 0) || a.index - b.index)
    .map(({ finding }) => finding);
}

function rowsOf(object: ReportObject, explain: boolean): Row[] {
  const line = (finding: ReportFinding) => (finding.line === null ? "" : String(finding.line));
  const rows: Row[] = inLineOrder(object.findings).map((finding) => ({
    line: line(finding),
    tag: finding.severity,
    rule: finding.rule,
    text: finding.message,
    details: explain ? [`at ${finding.path || "(object)"}`, `fix: ${finding.fix}`] : [],
  }));
  for (const finding of inLineOrder(object.exempted ?? [])) {
    const exemption = finding.exemption;
    const why = exemption === undefined ? "exempted" : `${exemption.reason}, until ${exemption.until}`;
    rows.push({ line: line(finding), tag: "exempt", rule: finding.rule, text: why, details: [] });
  }
  for (const notice of object.notices ?? []) {
    rows.push({ line: "", tag: "notice", rule: "", text: notice, details: [] });
  }
  return rows;
}

function fitsAligned(row: Row, ruleWidth: number, room: number): boolean {
  return row.rule.length <= ruleWidth && ruleWidth + 2 + row.text.length <= room;
}

/**
 * The width of the rule column that lines up the most messages in `room` columns (the widest
 * of those that line up as many): a long rule id or message should not push every row out.
 */
function ruleColumn(rows: readonly Row[], room: number): number {
  let best = 0;
  let bestCount = -1;
  for (const width of new Set(rows.map((row) => row.rule.length))) {
    const count = rows.filter((row) => row.rule !== "" && fitsAligned(row, width, room)).length;
    if (count > bestCount || (count === bestCount && width > best)) {
      best = width;
      bestCount = count;
    }
  }
  return best;
}

/**
 * An object's header (`file:line  Kind namespace/name`), then one line per finding: its line,
 * severity, rule and message. The messages line up in one column where they fit the width; a row
 * that would not has its message right after its rule (and wraps if even that is too long), since
 * a line the terminal wraps breaks every column.
 */
function renderObject(object: ReportObject, options: TextOptions, paint: Paint): string[] {
  const { width } = options;
  const location = where(object.file, object.line);
  const header = `${location ? `${location}  ` : ""}${objectLabel(object)}`;
  const lines = wrapLines(header, width, "", 2).map((line) => paint.bold(line));
  const rows = rowsOf(object, options.explain);
  const lineWidth = Math.max(0, ...rows.map((row) => row.line.length));
  const tagWidth = Math.max(...rows.map((row) => row.tag.length));
  const lead = 2 + (lineWidth > 0 ? lineWidth + 2 : 0) + tagWidth + 2;
  const ruleWidth = ruleColumn(rows, width - lead);
  for (const row of rows) {
    const number = lineWidth > 0 ? `${row.line.padStart(lineWidth)}  ` : "";
    const tag = `${paintTag(row.tag, paint)}${" ".repeat(tagWidth - row.tag.length)}  `;
    const aligned = row.rule === "" || fitsAligned(row, ruleWidth, width - lead);
    const rule = row.rule === "" ? "" : `${aligned ? row.rule.padEnd(ruleWidth) : row.rule}  `;
    const indent = row.rule === "" ? lead : aligned ? lead + ruleWidth + 2 : lead + 2;
    lines.push(...wrapLines(row.text, width, `  ${number}${tag}${rule}`, indent));
    const pad = " ".repeat(lead + 2);
    for (const detail of row.details) {
      lines.push(...wrapLines(detail, width, pad, lead + 4).map((line) => paint.dim(line)));
    }
  }
  return lines;
}

function describeSkipped(error: ReportError): string {
  const location = where(error.file, error.line);
  return `${location ? `${location}: ` : ""}${error.message}`;
}

function renderError(error: ReportError, width: number, paint: Paint): string[] {
  return wrapLines(describeSkipped(error), width, `  ${paint.red("error")}  `, 9);
}

/** `Rollout (argoproj.io/v1alpha1) x2`, or the documents that are no Kubernetes object. */
export function describeNotCovered(group: NotCovered): string {
  if (group.kind === null) return `${plural(group.count, "document")} without apiVersion and kind`;
  const name = `${group.kind} (${group.apiVersion ?? "no apiVersion"})`;
  return group.count === 1 ? name : `${name} x${group.count}`;
}

interface RuleTally {
  rule: string;
  deny: number;
  warn: number;
  /** The fix of the rule's first finding in the report: fixes name a container, so one stands for all. */
  fix: string;
}

function talliesOf(findings: readonly ReportFinding[]): RuleTally[] {
  const tallies = new Map<string, RuleTally>();
  for (const finding of findings) {
    const tally = tallies.get(finding.rule) ?? { rule: finding.rule, deny: 0, warn: 0, fix: finding.fix };
    tallies.set(finding.rule, tally);
    tally[finding.severity]++;
  }
  const total = (tally: RuleTally) => tally.deny + tally.warn;
  return [...tallies.values()].sort(
    (a, b) => b.deny - a.deny || total(b) - total(a) || (a.rule < b.rule ? -1 : 1),
  );
}

/**
 * Findings counted by rule and severity, the rules that deny first, each (without --explain) with
 * the fix of its first finding: on a chart, one rule's fix is the same text for every object.
 */
function renderByRule(report: Report, options: TextOptions, paint: Paint): string[] {
  const tallies = talliesOf(report.objects.flatMap((object) => inLineOrder(object.findings)));
  const count = (tally: RuleTally) =>
    [tally.deny > 0 ? `${tally.deny} deny` : "", tally.warn > 0 ? `${tally.warn} warn` : ""]
      .filter(Boolean)
      .join(", ");
  const countWidth = Math.max(...tallies.map((tally) => count(tally).length));
  const title = options.explain
    ? "findings by rule:"
    : "findings by rule, with the fix of each rule's first finding (--explain: every finding's own):";
  const lines = wrapLines(title, options.width, "", 2).map((line) => paint.bold(line));
  for (const tally of tallies) {
    lines.push(...wrapLines(tally.rule, options.width, `  ${count(tally).padStart(countWidth)}  `, 0));
    if (!options.explain) {
      const indent = 4 + countWidth;
      lines.push(...wrapLines(`fix: ${tally.fix}`, options.width, " ".repeat(indent), indent + 5));
    }
  }
  return lines;
}

/**
 * The score of each file (`check`) or namespace (`audit`) below 100, when there are several:
 * with one, the summary's score is the same number.
 */
function renderScores(report: Report, width: number, paint: Paint): string[] {
  const { groups } = scoresOf(report);
  if (groups.length < 2) return [];
  const noun = report.command === "check" ? "file" : "namespace";
  const below = groups.filter((group) => group.score < 100);
  if (below.length === 0) return [];
  const title = `score by ${noun} (of the objects checked, the share with no deny finding):`;
  const lines = wrapLines(title, width, "", 2).map((line) => paint.bold(line));
  for (const group of below) {
    const text = `${group.group}  (${group.clean} of ${group.checked})`;
    lines.push(...wrapLines(text, width, `  ${String(group.score).padStart(3)}  `, 7));
  }
  const perfect = groups.length - below.length;
  if (perfect > 0) lines.push(`  ${"100".padStart(3)}  ${plural(perfect, `other ${noun}`)}`);
  return lines;
}

/**
 * The human report: one header per object with one line per finding, exemption and notice, then
 * input errors, the documents that are no Kubernetes object, notes, the findings by rule with
 * their fix, the scores, one summary line, and what was not covered, never counted as clean.
 */
export function renderText(report: Report, options: TextOptions): string {
  const paint = options.color ? COLOR : PLAIN;
  const { width } = options;
  const blocks: string[][] = [];
  for (const object of report.objects) {
    const shown =
      object.findings.length > 0 || (object.exempted?.length ?? 0) > 0 || (object.notices?.length ?? 0) > 0;
    if (shown) blocks.push(renderObject(object, options, paint));
  }
  if (report.errors.length > 0) {
    const title = report.command === "check" ? "input errors (not checked):" : "errors:";
    blocks.push([paint.bold(title), ...report.errors.flatMap((e) => renderError(e, width, paint))]);
  }
  const nonObjects = report.nonObjects ?? [];
  if (nonObjects.length > 0) {
    const title = "not Kubernetes objects (skipped):";
    blocks.push([
      paint.bold(title),
      ...nonObjects.flatMap((e) => wrapLines(describeSkipped(e), width, "  ", 4)),
    ]);
  }
  if (report.notes.length > 0) {
    blocks.push([paint.bold("notes:"), ...report.notes.flatMap((note) => wrapLines(note, width, "  ", 4))]);
  }
  const s = summarize(report);
  if (s.findings > 0) {
    blocks.push(renderByRule(report, options, paint));
    const scores = renderScores(report, width, paint);
    if (scores.length > 0) blocks.push(scores);
  }
  blocks.push(summaryLines(report, width, paint));
  return `${blocks.map((block) => block.join("\n")).join("\n\n")}\n`;
}

/** The verdict line (with the score when something was found) and what was not covered. */
function summaryLines(report: Report, width: number, paint: Paint): string[] {
  const s = summarize(report);
  const nonObjects = report.nonObjects?.length ?? 0;
  const place =
    report.command === "check"
      ? plural(s.files, "file")
      : report.namespace === undefined
        ? "the cluster"
        : `namespace ${report.namespace}`;
  const uncovered = s.notCovered - nonObjects;
  const scope = `${plural(s.objects - uncovered, "object")} in ${place}`;
  const skipped = s.skipped > 0 ? `, ${s.skipped} skipped` : "";
  const errors = s.errors > 0 ? `; ${paint.red(plural(s.errors, "error"))}` : "";
  const mode = `${report.mode} mode`;
  const exempted = s.exempted > 0 ? `, ${s.exempted} exempted` : "";
  const score = s.findings > 0 ? `, score ${scoresOf(report).total.score}` : "";
  const counts = `${s.deny > 0 ? paint.red(`${s.deny} deny`) : "0 deny"}, ${s.warn} warn${exempted}`;
  const verdict =
    s.findings === 0
      ? `${paint.green("no findings")}${exempted === "" ? "" : ` (${s.exempted} exempted)`} in ${scope}${skipped} (${mode})${errors}`
      : `${plural(s.findings, "finding")} (${counts}) in ${scope}${skipped} (${mode})${score}${errors}`;
  const lines = wrapLines(verdict, width, "", 2);
  const notCovered = notCoveredOf(report);
  if (notCovered.length > 0) {
    const text = `${plural(s.notCovered, "object")} not covered: ${notCovered.map(describeNotCovered).join(", ")}`;
    lines.push(...wrapLines(text, width, "", 2));
  }
  return lines;
}
