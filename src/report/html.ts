import { dayStart } from "../engine/exemptions.js";
import { toolVersion } from "../version.js";
import { htmlPage } from "./htmlPage.js";
import {
  notCoveredOf,
  objectLabel,
  type Report,
  type ReportFinding,
  type RuleDescriptor,
  summarize,
} from "./model.js";
import { type NamespaceStanding, namespaceStandings } from "./namespaces.js";
import { describeNotCovered } from "./text.js";

/** Finding rows shown per rule and per namespace; the rest are counted. */
export const MAX_ROWS_PER_GROUP = 25;
/** Namespaces with findings that get a section of their own, worst first. */
export const MAX_NAMESPACE_GROUPS = 100;
/** Rows of the namespace table, worst first. */
export const MAX_NAMESPACE_ROWS = 500;
/** Exempted findings listed, the soonest to expire first. */
export const MAX_EXEMPTED_ROWS = 500;
/** Notices, errors and notes listed, each. */
export const MAX_LIST_ITEMS = 200;
/** Characters of one input string shown (a name, a message): a file can hold a name of any length. */
export const MAX_TEXT = 1000;
/** An exemption whose last day is at most this many days away expires soon. */
export const EXPIRES_SOON_DAYS = 14;

const DAY_MS = 86_400_000;
const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** `text` safe as HTML text and as a double- or single-quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ENTITIES[char]!);
}

/** An input string, cut at MAX_TEXT characters, escaped. */
function t(value: string): string {
  return escapeHtml(value.length > MAX_TEXT ? `${value.slice(0, MAX_TEXT)}…` : value);
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

function namespaceName(namespace: string): string {
  return namespace === "" ? "(cluster-scoped)" : namespace;
}

/**
 * The filter's value for a namespace: prefixed, so that no namespace read from a file (even `""`
 * for cluster-scoped objects) can be the empty value that means "all".
 */
function namespaceKey(namespace: string): string {
  return `ns:${namespace}`;
}

function where(file: string | null, line: number | null): string {
  if (file === null) return "";
  return line === null ? t(file) : `${t(file)}:${line}`;
}

type Column = "rule" | "namespace";

/** One finding as a table row, with what the filter matches on in data attributes. */
function findingRow(finding: ReportFinding, omit: Column, extra = ""): string {
  const cells = [
    `<td class="sev-${finding.severity}">${finding.severity}</td>`,
    omit === "rule" ? "" : `<td><code>${t(finding.rule)}</code></td>`,
    `<td>${t(finding.kind)}</td>`,
    omit === "namespace" ? "" : `<td>${t(namespaceName(finding.namespace))}</td>`,
    `<td>${t(finding.name)}</td>`,
    `<td>${where(finding.file, finding.line)}</td>`,
    `<td>${t(finding.message)}${finding.path === "" ? "" : `<div class="path">${t(finding.path)}</div>`}</td>`,
    `<td>${t(finding.fix)}</td>`,
    extra,
  ];
  const data = `data-ns="${t(namespaceKey(finding.namespace))}" data-rule="${t(finding.rule)}" data-sev="${finding.severity}"`;
  return `<tr ${data}>${cells.join("")}</tr>`;
}

function findingHeader(omit: Column, extra = ""): string {
  const names = ["Severity", "Rule", "Kind", "Namespace", "Name", "Where", "Message", "Fix"];
  const shown = names.filter((name) => name.toLowerCase() !== omit);
  return `<thead><tr>${shown.map((name) => `<th>${name}</th>`).join("")}${extra}</tr></thead>`;
}

/** Deny first, then reading order: the rows a bounded group shows are the ones that block. */
function denyFirst(findings: ReportFinding[]): ReportFinding[] {
  return [...findings.filter((f) => f.severity === "deny"), ...findings.filter((f) => f.severity !== "deny")];
}

function findingTable(findings: ReportFinding[], omit: Column): string {
  const shown = denyFirst(findings).slice(0, MAX_ROWS_PER_GROUP);
  const rest = findings.length - shown.length;
  return [
    `<table>${findingHeader(omit)}<tbody>`,
    ...shown.map((finding) => findingRow(finding, omit)),
    "</tbody></table>",
    rest > 0
      ? `<p class="more">${plural(rest, "more finding")} not shown (the JSON output lists them all)</p>`
      : "",
  ].join("\n");
}

function groupBy(findings: ReportFinding[], key: (finding: ReportFinding) => string) {
  const groups = new Map<string, ReportFinding[]>();
  for (const finding of findings) {
    const group = groups.get(key(finding));
    if (group) group.push(finding);
    else groups.set(key(finding), [finding]);
  }
  return groups;
}

function denyCount(findings: ReportFinding[]): number {
  return findings.filter((f) => f.severity === "deny").length;
}

function counts(findings: ReportFinding[]): string {
  const deny = denyCount(findings);
  return `${plural(findings.length, "finding")} (${deny} deny, ${findings.length - deny} warn)`;
}

/** A rule's remediation, markdown with YAML fences, as paragraphs and preformatted code. */
function remediationHtml(markdown: string): string {
  const parts = markdown.split(/```[a-z]*\n?/);
  return parts
    .map((part, index) => {
      const trimmed = part.trim();
      if (trimmed === "") return "";
      return index % 2 === 1 ? `<pre><code>${t(part.trimEnd())}</code></pre>` : `<p>${t(trimmed)}</p>`;
    })
    .join("");
}

/** The by-rule sections, and how many finding rows they show (what the filter counts against). */
function byRule(
  findings: ReportFinding[],
  descriptors: ReadonlyMap<string, RuleDescriptor>,
): { html: string; rows: number } {
  const groups = [...groupBy(findings, (f) => f.rule).entries()].sort(
    ([a, x], [b, y]) => denyCount(y) - denyCount(x) || y.length - x.length || (a < b ? -1 : 1),
  );
  const sections = groups.map(([rule, group]) => {
    const descriptor = descriptors.get(rule);
    const title = descriptor ? ` — ${t(descriptor.title)}` : "";
    const howTo =
      descriptor && descriptor.remediation !== ""
        ? `<details><summary>How to fix</summary>${remediationHtml(descriptor.remediation)}</details>`
        : "";
    return [
      `<section class="group" data-rule-group="${t(rule)}">`,
      `<h3><code>${t(rule)}</code>${title} <span class="count">${counts(group)}</span></h3>`,
      howTo,
      findingTable(group, "rule"),
      "</section>",
    ].join("\n");
  });
  const rows = groups.reduce((sum, [, group]) => sum + Math.min(group.length, MAX_ROWS_PER_GROUP), 0);
  return { html: sections.length === 0 ? "<p>No findings.</p>" : sections.join("\n"), rows };
}

/** Not ready first, then the lowest score, the most findings, the name. */
function worstFirst(a: NamespaceStanding, b: NamespaceStanding): number {
  return (
    Number(a.ready) - Number(b.ready) ||
    a.score - b.score ||
    b.findings - a.findings ||
    (a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : 0)
  );
}

/** A section per namespace with findings, in the order of `standings` (worst first), bounded. */
function byNamespace(report: Report, standings: NamespaceStanding[]): string {
  const groups = new Map<string, ReportFinding[]>();
  for (const object of report.objects) {
    if (object.findings.length === 0) continue;
    const group = groups.get(object.namespace);
    if (group) group.push(...object.findings);
    else groups.set(object.namespace, [...object.findings]);
  }
  // Only judged objects have findings, so every group has its standing.
  const order = standings.filter((s) => groups.has(s.namespace)).map((s) => s.namespace);
  const shown = order.slice(0, MAX_NAMESPACE_GROUPS);
  const sections = shown.map((namespace) => {
    const group = groups.get(namespace)!;
    return [
      `<section class="group" data-namespace-group="${t(namespaceKey(namespace))}">`,
      `<h3>${t(namespaceName(namespace))} <span class="count">${counts(group)}</span></h3>`,
      findingTable(group, "namespace"),
      "</section>",
    ].join("\n");
  });
  const rest = order.length - shown.length;
  if (rest > 0)
    sections.push(`<p class="more">${plural(rest, "more namespace")} with findings not shown</p>`);
  return sections.length === 0 ? "<p>No findings.</p>" : sections.join("\n");
}

function namespaceTable(standings: NamespaceStanding[], enforce: boolean): string {
  if (standings.length === 0) return "<p>No object was judged.</p>";
  const shown = standings.slice(0, MAX_NAMESPACE_ROWS);
  const rows = shown.map((s) => {
    const score = enforce ? String(s.score) : "—";
    const ready = !enforce ? "—" : s.ready ? '<span class="yes">yes</span>' : '<span class="no">no</span>';
    return [
      `<tr data-namespace="${t(namespaceKey(s.namespace))}">`,
      `<td>${t(namespaceName(s.namespace))}</td><td class="num">${s.judged}</td><td class="num">${s.denied}</td>`,
      `<td class="num">${s.findings}</td><td class="num score">${score}</td><td class="ready">${ready}</td></tr>`,
    ].join("");
  });
  const rest = standings.length - shown.length;
  return [
    enforce
      ? ""
      : '<p class="warn-mode">This report was made in warn mode, where nothing denies: score and readiness are those of enforce mode (<code>--mode enforce</code>).</p>',
    '<table><thead><tr><th>Namespace</th><th class="num">Objects judged</th><th class="num">With a deny finding</th>',
    '<th class="num">Findings</th><th class="num">Score</th><th>Ready to enforce</th></tr></thead><tbody>',
    ...rows,
    "</tbody></table>",
    rest > 0 ? `<p class="more">${plural(rest, "more namespace")} not shown</p>` : "",
  ].join("\n");
}

/** `last day 2026-12-10, in 7 days`, flagged when it expires within EXPIRES_SOON_DAYS or has. */
function expiry(until: string, now: Date): string {
  const start = dayStart(until);
  if (start === undefined) return `<span class="no">invalid date ${t(until)}</span>`;
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const days = Math.round((start - today) / DAY_MS);
  if (days < 0) return `<span class="no">expired</span> (last day ${t(until)})`;
  const when = days === 0 ? "today is the last day" : `last day ${t(until)}, in ${plural(days, "day")}`;
  return days <= EXPIRES_SOON_DAYS ? `<span class="soon">expires soon</span>: ${when}` : when;
}

function exemptedTable(exempted: ReportFinding[], now: Date): string {
  if (exempted.length === 0) return "<p>No finding is exempted.</p>";
  const sorted = [...exempted].sort((a, b) => {
    const [x, y] = [a.exemption?.until ?? "", b.exemption?.until ?? ""];
    return x < y ? -1 : x > y ? 1 : 0;
  });
  const shown = sorted.slice(0, MAX_EXEMPTED_ROWS);
  const rows = shown.map((finding) => {
    const exemption = finding.exemption;
    const cells = exemption
      ? `<td>${exemption.source}: ${t(exemption.reason)}</td><td class="expiry">${expiry(exemption.until, now)}</td>`
      : "<td></td><td></td>";
    return findingRow(finding, "namespace", cells);
  });
  const rest = exempted.length - shown.length;
  return [
    `<table>${findingHeader("namespace", "<th>Exemption</th><th>Expiry</th>")}<tbody>`,
    ...rows,
    "</tbody></table>",
    rest > 0 ? `<p class="more">${plural(rest, "more exempted finding")} not shown</p>` : "",
  ].join("\n");
}

function list(items: string[], noun: string): string {
  const shown = items.slice(0, MAX_LIST_ITEMS);
  const rest = items.length - shown.length;
  return [
    "<ul>",
    ...shown.map((item) => `<li>${item}</li>`),
    "</ul>",
    rest > 0 ? `<p class="more">${plural(rest, `more ${noun}`)} not shown</p>` : "",
  ].join("\n");
}

function notices(report: Report): string {
  const items = report.objects.flatMap((object) =>
    (object.notices ?? []).map((notice) => `<b>${t(objectLabel(object))}</b>: ${t(notice)}`),
  );
  return items.length === 0 ? "<p>No notices.</p>" : list(items, "notice");
}

function options(values: string[], label: (value: string) => string, key = (v: string) => v): string {
  return values.map((value) => `<option value="${t(key(value))}">${t(label(value))}</option>`).join("");
}

function sortedUnique(values: Iterable<string>): string[] {
  return [...new Set(values)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The filter: one select per namespace, rule and severity, over the values the findings carry
 * (bounded like the namespace table). `total` is the count of rows in the by-rule section, which
 * the script counts against.
 */
function filter(findings: ReportFinding[], total: number): string {
  const namespaces = sortedUnique(findings.map((f) => f.namespace)).slice(0, MAX_NAMESPACE_ROWS);
  const rules = sortedUnique(findings.map((f) => f.rule)).slice(0, MAX_NAMESPACE_ROWS);
  return [
    '<form id="filter">',
    `<label>Namespace <select id="filter-namespace"><option value="">all</option>${options(namespaces, namespaceName, namespaceKey)}</select></label>`,
    `<label>Rule <select id="filter-rule"><option value="">all</option>${options(rules, (r) => r)}</select></label>`,
    '<label>Severity <select id="filter-severity"><option value="">all</option><option value="deny">deny</option><option value="warn">warn</option></select></label>',
    `<output id="filter-shown" data-total="${total}">${total} of ${total} finding rows shown</output>`,
    "</form>",
  ].join("\n");
}

function summarySection(report: Report): string {
  const s = summarize(report);
  const figures: [string, string, number][] = [
    ["objects", "Objects", s.objects],
    ["findings", "Findings", s.findings],
    ["deny", "Deny", s.deny],
    ["warn", "Warn", s.warn],
    ["exempted", "Exempted", s.exempted],
    ["not-covered", "Not covered", s.notCovered],
    ["skipped", "Skipped", s.skipped],
    ["errors", "Errors", s.errors],
  ];
  const notCovered = notCoveredOf(report);
  return [
    '<section id="summary"><h2>Summary</h2>',
    '<dl class="summary">',
    ...figures.map(
      ([id, label, value]) => `<div><dt>${label}</dt><dd id="summary-${id}">${value}</dd></div>`,
    ),
    "</dl>",
    notCovered.length === 0
      ? ""
      : `<p id="not-covered">Not covered (no rule checks them): ${notCovered.map((g) => t(describeNotCovered(g))).join(", ")}</p>`,
    "</section>",
  ].join("\n");
}

function scope(report: Report): string {
  if (report.command === "check") {
    return `${plural(report.files, "file")}, ${plural(report.documents, "document")}`;
  }
  return report.namespace === undefined ? "the cluster" : `namespace ${t(report.namespace)}`;
}

/**
 * The HTML report: one self-contained page (inline style and script, a CSP that forbids every
 * load) with the summary, each namespace's score and readiness to enforce, the findings by rule
 * (with the rule's remediation) and by namespace, the exempted findings with their expiry, the
 * notices, errors and notes, and a filter by namespace, rule and severity. Every string from the
 * input is escaped and cut; every list is bounded, so 10,000 objects still make a page a browser
 * opens (the JSON output is the complete record). `now` decides which exemptions expire soon.
 */
export function renderHtml(report: Report, descriptors: readonly RuleDescriptor[], now: Date): string {
  const byId = new Map(descriptors.map((d) => [d.id, d]));
  const findings = report.objects.flatMap((object) => object.findings);
  const exempted = report.objects.flatMap((object) => object.exempted ?? []);
  const standings = namespaceStandings(report).sort(worstFirst);
  const ruleSection = byRule(findings, byId);
  const errors = report.errors.map((e) => {
    const at = where(e.file, e.line);
    return `${at === "" ? "" : `${at}: `}${t(e.message)}`;
  });
  const title = `tollgate ${report.command} report`;
  const body = [
    `<header><h1>${title}</h1>`,
    `<p class="meta">${report.mode} mode · ${scope(report)} · tollgate ${t(toolVersion())} · ${now.toISOString()}</p></header>`,
    summarySection(report),
    '<section id="namespaces"><h2>Namespaces: score and readiness to enforce</h2>',
    "<p>Score: the share of a namespace's judged objects without a deny finding (100 × objects without a deny finding / objects judged, rounded). Ready: enforce mode would deny none of them.</p>",
    namespaceTable(standings, report.mode === "enforce"),
    "</section>",
    filter([...findings, ...exempted], ruleSection.rows),
    `<section id="by-rule"><h2>Findings by rule</h2>\n${ruleSection.html}\n</section>`,
    `<section id="by-namespace"><h2>Findings by namespace</h2>\n${byNamespace(report, standings)}\n</section>`,
    `<section id="exempted"><h2>Exempted findings</h2>\n${exemptedTable(exempted, now)}\n</section>`,
    `<section id="notices"><h2>Notices</h2>\n${notices(report)}\n</section>`,
    errors.length === 0 ? "" : `<section id="errors"><h2>Errors</h2>\n${list(errors, "error")}\n</section>`,
    report.notes.length === 0
      ? ""
      : `<section id="notes"><h2>Notes</h2>\n${list(report.notes.map(t), "note")}\n</section>`,
  ].join("\n");
  return htmlPage(title, body);
}
