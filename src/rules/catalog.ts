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
