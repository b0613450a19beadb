import {
  type NotCovered,
  notCoveredOf,
  objectLabel,
  type Report,
  type ReportError,
  type ReportObject,
  summarize,
} from "./model.js";

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

function renderObject(object: ReportObject, paint: Paint): string[] {
  const location = where(object.file, object.line);
  const lines = [`${location ? `${paint.bold(location)}  ` : ""}${paint.bold(objectLabel(object))}`];
  const ruleWidth = Math.max(...object.findings.map((f) => f.rule.length));
  for (const finding of object.findings) {
    const severity = finding.severity === "deny" ? paint.red("deny") : paint.yellow("warn");
    const at = finding.line !== null && finding.line !== object.line ? `line ${finding.line}: ` : "";
    lines.push(`  ${severity}  ${finding.rule.padEnd(ruleWidth)}  ${at}${finding.message}`);
    const indent = " ".repeat(ruleWidth + 10);
    lines.push(paint.dim(`${indent}at ${finding.path || "(object)"}`));
    lines.push(paint.dim(`${indent}fix: ${finding.fix}`));
  }
  return lines;
}

function describeSkipped(error: ReportError): string {
  const location = where(error.file, error.line);
  return `${location ? `${location}: ` : ""}${error.message}`;
}

function renderError(error: ReportError, paint: Paint): string {
  const location = where(error.file, error.line);
  return `  ${paint.red("error")}  ${location ? `${location}: ` : ""}${error.message}`;
}

/** `Rollout (argoproj.io/v1alpha1) x2`, or the documents that are no Kubernetes object. */
export function describeNotCovered(group: NotCovered): string {
  if (group.kind === null) return `${plural(group.count, "document")} without apiVersion and kind`;
  const name = `${group.kind} (${group.apiVersion ?? "no apiVersion"})`;
  return group.count === 1 ? name : `${name} x${group.count}`;
}

/**
 * The human report: findings grouped by object, then input errors, the documents that are no
 * Kubernetes object, notes, one summary line, and what was not covered, never counted as clean.
 */
export function renderText(report: Report, color: boolean): string {
  const paint = color ? COLOR : PLAIN;
  const blocks: string[] = [];
  for (const object of report.objects) {
    if (object.findings.length > 0) blocks.push(renderObject(object, paint).join("\n"));
  }
  if (report.errors.length > 0) {
    const title = report.command === "check" ? "input errors (not checked):" : "errors:";
    blocks.push([paint.bold(title), ...report.errors.map((e) => renderError(e, paint))].join("\n"));
  }
  const nonObjects = report.nonObjects ?? [];
  if (nonObjects.length > 0) {
    const title = "not Kubernetes objects (skipped):";
    blocks.push([paint.bold(title), ...nonObjects.map((e) => `  ${describeSkipped(e)}`)].join("\n"));
  }
  if (report.notes.length > 0) {
    blocks.push([paint.bold("notes:"), ...report.notes.map((note) => `  ${note}`)].join("\n"));
  }
  const s = summarize(report);
  const where =
    report.command === "check"
      ? plural(s.files, "file")
      : report.namespace === undefined
        ? "the cluster"
        : `namespace ${report.namespace}`;
  const uncovered = s.notCovered - nonObjects.length;
  const scope = `${plural(s.objects - uncovered, "object")} in ${where}`;
  const skipped = s.skipped > 0 ? `, ${s.skipped} skipped` : "";
  const errors = s.errors > 0 ? `; ${paint.red(plural(s.errors, "error"))}` : "";
  const mode = `${report.mode} mode`;
  const verdict =
    s.findings === 0
      ? `${paint.green("no findings")} in ${scope}${skipped} (${mode})${errors}`
      : `${plural(s.findings, "finding")} (${s.deny > 0 ? paint.red(`${s.deny} deny`) : "0 deny"}, ${s.warn} warn) in ${scope}${skipped} (${mode})${errors}`;
  const notCovered = notCoveredOf(report);
  blocks.push(
    notCovered.length === 0
      ? verdict
      : `${verdict}\n${plural(s.notCovered, "object")} not covered: ${notCovered.map(describeNotCovered).join(", ")}`,
  );
  return `${blocks.join("\n\n")}\n`;
}
