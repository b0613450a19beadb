import { type CatalogEntry, catalog } from "../rules/catalog.js";
import { ALL_RULES } from "../rules/index.js";
import type { Rule } from "../rules/types.js";
import { ALL_CHECKS } from "./checks/index.js";
import type { Check } from "./checks/types.js";

/**
 * The whole catalog that `tollgate rules` prints and docs/rules.md is generated from: the rules,
 * which judge one object wherever tollgate runs, and the checks of the audit's cluster checklist.
 * It lives here, above both, because the rules cannot know the audit.
 */

/** A check as `tollgate rules --output json` prints it: a rule's fields, and what only checks have. */
export interface CheckCatalogEntry extends CatalogEntry {
  /** Kinds served by CRDs that may be absent; an absent one is an answer, not a gap. */
  optionalKinds: string[];
  /** Reads the server version. */
  readsVersion: boolean;
  /** Runs when the audit is limited to one namespace (`--namespace`). */
  namespaceScoped: boolean;
  /** The rule whose finding on the same object stands for this check's, if any. */
  coveredBy: string | null;
}

export interface Catalog {
  rules: CatalogEntry[];
  checks: CheckCatalogEntry[];
  /** The ValidatingAdmissionPolicies loaded with `--policy` or the config's `policies:`, when any. */
  policies?: CatalogEntry[];
}

export function checkCatalogEntry(check: Check): CheckCatalogEntry {
  return {
    id: check.id,
    title: check.title,
    category: check.category,
    defaultSeverity: check.defaultSeverity,
    kinds: [...check.needs],
    sources: [...check.sources],
    description: check.description,
    remediation: check.remediation,
    options: {},
    optionalKinds: [...(check.optional ?? [])],
    readsVersion: check.readsVersion === true,
    namespaceScoped: check.namespaceScoped,
    coveredBy: check.coveredBy ?? null,
  };
}

export function fullCatalog(
  rules: readonly Rule[] = ALL_RULES,
  checks: readonly Check[] = ALL_CHECKS,
  policies: readonly Rule[] = [],
): Catalog {
  const entries: Catalog = { rules: catalog(rules), checks: checks.map(checkCatalogEntry) };
  if (policies.length > 0) entries.policies = catalog(policies);
  return entries;
}

/** The catalog as plain-text tables, the rules' then the checklist's: id, category, default severity, title. */
export function renderCatalogText(
  rules: readonly Rule[] = ALL_RULES,
  checks: readonly Check[] = ALL_CHECKS,
  policies: readonly Rule[] = [],
): string {
  const all = [...rules, ...checks, ...policies];
  const idWidth = Math.max(2, ...all.map((entry) => entry.id.length));
  const categoryWidth = Math.max(8, ...all.map((entry) => entry.category.length));
  const row = (id: string, category: string, severity: string, title: string) =>
    `${id.padEnd(idWidth)}  ${category.padEnd(categoryWidth)}  ${severity.padEnd(7)}  ${title}`;
  const table = (entries: readonly (Rule | Check)[]) => [
    row("ID", "CATEGORY", "DEFAULT", "TITLE"),
    ...entries.map((entry) => row(entry.id, entry.category, entry.defaultSeverity, entry.title)),
  ];
  const lines = table(rules);
  if (checks.length > 0) lines.push("", "Cluster checklist (runs in audit only):", ...table(checks));
  if (policies.length > 0)
    lines.push("", "ValidatingAdmissionPolicies (loaded with --policy or policies:):", ...table(policies));
  return `${lines.join("\n")}\n`;
}

function sourcesLine(sources: readonly string[]): string {
  return `- Runs in: ${sources.map((source) => `\`${source}\``).join(", ")} only`;
}

function ruleSection(rule: Rule): string[] {
  const out = ["", `## ${rule.id}`, "", `**${rule.title}**`, ""];
  out.push(`- Category: ${rule.category}`);
  out.push(`- Default severity: ${rule.defaultSeverity}`);
  out.push(`- Kinds: ${rule.kinds.join(", ")}`);
  if (rule.sources) out.push(sourcesLine(rule.sources));
  const options = Object.entries(rule.defaultOptions ?? {});
  if (options.length > 0) {
    out.push(
      `- Options: ${options.map(([key, value]) => `\`${key}\` (default \`${JSON.stringify(value)}\`)`).join(", ")}`,
    );
  }
  out.push("", rule.description, "", rule.remediation);
  return out;
}

function checkSection(check: Check): string[] {
  const out = ["", `## ${check.id}`, "", `**${check.title}**`, ""];
  out.push(`- Category: ${check.category}`);
  out.push(`- Default severity: ${check.defaultSeverity}`);
  const reads = [
    ...check.needs,
    ...(check.optional ?? []).map((kind) => `${kind} (optional: its CRD may be absent)`),
    ...(check.readsVersion ? ["the server version"] : []),
  ];
  out.push(`- Reads: ${reads.join(", ")}`);
  out.push(sourcesLine(check.sources));
  if (!check.namespaceScoped) out.push("- Needs the whole cluster: skipped by `audit --namespace`");
  if (check.coveredBy) {
    out.push(
      `- Covered by: [${check.coveredBy}](#${check.coveredBy}); where the rule reports the same object, its finding stands alone`,
    );
  }
  out.push("", check.description, "", check.remediation);
  return out;
}

/** docs/rules.md: generated from the rules' and checks' own metadata (`npm run docs:rules`), never edited by hand. */
export function renderCatalogMarkdown(
  rules: readonly Rule[] = ALL_RULES,
  checks: readonly Check[] = ALL_CHECKS,
): string {
  const index = (entry: Rule | Check) =>
    `- [${entry.id}](#${entry.id}): ${entry.title} (${entry.category}, ${entry.defaultSeverity})`;
  const out: string[] = [
    "# tollgate rules",
    "",
    "<!-- Generated from the rules' and checks' metadata by `npm run docs:rules`; do not edit. -->",
    "",
    "Severity is configuration: `rules.<id>.severity` (`deny`, `warn` or `off`) overrides the default below.",
    "In a namespace in warn mode every finding is a warning.",
    "A custom resource that the config's `podTemplates` names (an Argo Rollout) gets the rules of the",
    "built-in kind it is `like`, a Deployment by default (README.md#pod-templates-in-custom-resources).",
    "",
    ...rules.map(index),
  ];
  if (checks.length > 0) {
    out.push(
      "",
      "The [cluster checklist](#cluster-checklist), run by `tollgate audit` only:",
      "",
      ...checks.map(index),
    );
  }
  for (const rule of rules) out.push(...ruleSection(rule));
  if (checks.length > 0) {
    out.push(
      "",
      "## Cluster checklist",
      "",
      "Checks that `tollgate audit` runs over the cluster as a whole, after the rules: how objects stand",
      "together (a namespace and its NetworkPolicies, a binding and the role it names) and what the",
      "cluster lacks (backups, monitoring). Each finding carries the check's id. Checks run at their",
      "default severity (the config's `rules` does not name them); one whose inputs could not be listed",
      "is skipped, and the report says why.",
    );
  }
  for (const check of checks) out.push(...checkSection(check));
  return `${out.join("\n")}\n`;
}
