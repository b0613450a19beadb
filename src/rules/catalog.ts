import { ALL_RULES } from "./index.js";
import type { Rule } from "./types.js";

/** A rule's metadata as `tollgate rules --output json` prints it. */
export interface CatalogEntry {
  id: string;
  title: string;
  category: string;
  defaultSeverity: string;
  kinds: string[];
  sources: string[];
  description: string;
  remediation: string;
  options: Record<string, unknown>;
}

const ALL_SOURCES = ["admission", "check", "audit"];

export function catalogEntry(rule: Rule): CatalogEntry {
  return {
    id: rule.id,
    title: rule.title,
    category: rule.category,
    defaultSeverity: rule.defaultSeverity,
    kinds: [...rule.kinds],
    sources: rule.sources ? [...rule.sources] : ALL_SOURCES,
    description: rule.description,
    remediation: rule.remediation,
    options: { ...(rule.defaultOptions ?? {}) },
  };
}

export function catalog(rules: readonly Rule[] = ALL_RULES): CatalogEntry[] {
  return rules.map(catalogEntry);
}

/** The catalog as a plain-text table: id, category, default severity, title. */
export function renderRulesText(rules: readonly Rule[] = ALL_RULES): string {
  const idWidth = Math.max(2, ...rules.map((rule) => rule.id.length));
  const categoryWidth = Math.max(8, ...rules.map((rule) => rule.category.length));
  const row = (id: string, category: string, severity: string, title: string) =>
    `${id.padEnd(idWidth)}  ${category.padEnd(categoryWidth)}  ${severity.padEnd(7)}  ${title}`;
  const lines = [row("ID", "CATEGORY", "DEFAULT", "TITLE")];
  for (const rule of rules) lines.push(row(rule.id, rule.category, rule.defaultSeverity, rule.title));
  return `${lines.join("\n")}\n`;
}

/** docs/rules.md: generated from the rules' own metadata (`npm run docs:rules`), never edited by hand. */
export function renderRulesMarkdown(rules: readonly Rule[] = ALL_RULES): string {
  const out: string[] = [
    "# tollgate rules",
    "",
    "<!-- Generated from the rules' metadata by `npm run docs:rules`; do not edit. -->",
    "",
    "Severity is configuration: `rules.<id>.severity` (`deny`, `warn` or `off`) overrides the default below.",
    "In a namespace in warn mode every finding is a warning.",
    "",
    ...rules.map(
      (rule) => `- [${rule.id}](#${rule.id}): ${rule.title} (${rule.category}, ${rule.defaultSeverity})`,
    ),
  ];
  for (const rule of rules) {
    out.push("", `## ${rule.id}`, "", `**${rule.title}**`, "");
    out.push(`- Category: ${rule.category}`);
    out.push(`- Default severity: ${rule.defaultSeverity}`);
    out.push(`- Kinds: ${rule.kinds.join(", ")}`);
    if (rule.sources) out.push(`- Runs in: ${rule.sources.map((source) => `\`${source}\``).join(", ")} only`);
    const options = Object.entries(rule.defaultOptions ?? {});
    if (options.length > 0) {
      out.push(
        `- Options: ${options.map(([key, value]) => `\`${key}\` (default \`${JSON.stringify(value)}\`)`).join(", ")}`,
      );
    }
    out.push("", rule.description, "", rule.remediation);
  }
  return `${out.join("\n")}\n`;
}
