import type { ConfigExemption } from "../config/schema.js";
import type { ExemptionRef, Finding, Rule } from "../rules/types.js";
import { MAX_QUOTED, quote } from "../rules/visit.js";
import { EXEMPT_ANNOTATION, EXEMPT_REASON_ANNOTATION, EXEMPT_UNTIL_ANNOTATION } from "../objects/labels.js";
import { metadataMap, stringAt } from "../objects/object.js";

const DAY_MS = 86_400_000;
/**
 * Comma-separated entries read from one `tollgate.dev/exempt`: many times the rules there are. Read whole, a policy
 * admin's 7 MB annotation of 3.5 M ids that are no rule made 3.5 M notices, a 185 MB answer and
 * 2 GiB of memory; now the first ones are read and a notice says the rest were not.
 */
export const MAX_EXEMPT_IDS = 256;
/** Ids that are no rule named one by one in notices; the others are counted in one. */
const MAX_NAMED_UNKNOWN = 5;
/** An exemption that ends within this many days is named in a warning each time it is used. */
export const EXPIRY_WARNING_DAYS = 14;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Midnight UTC at the start of a `YYYY-MM-DD` day, or undefined when it is not a real date. */
export function dayStart(text: string): number | undefined {
  const match = DATE.exec(text);
  if (!match) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const time = Date.UTC(year, month - 1, day);
  const date = new Date(time);
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    return undefined;
  }
  return time;
}

/** One exemption ready to match findings. `until` is the last day it holds, UTC. */
export interface Grant {
  ref: ExemptionRef;
  /** Rule ids it covers; undefined for every rule. */
  rules: ReadonlySet<string> | undefined;
  container: string | undefined;
  /** End of the `until` day, exclusive. */
  endsAt: number;
}

export interface CompiledConfigExemption extends Grant {
  namespace: string | undefined;
  kind: string | undefined;
  name: RegExp | undefined;
  /** How notices name it. */
  label: string;
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replaceAll("*", ".*")
    .replaceAll("?", ".");
  return new RegExp(`^${body}$`);
}

function labelOf(exemption: ConfigExemption): string {
  const parts: string[] = [];
  if (exemption.namespace !== undefined) parts.push(`namespace ${exemption.namespace}`);
  if (exemption.kind !== undefined) parts.push(`kind ${exemption.kind}`);
  if (exemption.name !== undefined) parts.push(`name ${exemption.name}`);
  if (exemption.container !== undefined) parts.push(`container ${exemption.container}`);
  return parts.length === 0 ? "config exemption" : `config exemption for ${parts.join(", ")}`;
}

/** Config exemptions compiled once, with the policy (globs to RegExps, dates to times). */
export function compileConfigExemptions(exemptions: readonly ConfigExemption[]): CompiledConfigExemption[] {
  return exemptions.map((exemption): CompiledConfigExemption => {
    const start = dayStart(exemption.until);
    return {
      ref: { source: "config", reason: exemption.reason, until: exemption.until },
      rules: exemption.rules.includes("*") ? undefined : new Set(exemption.rules),
      container: exemption.container,
      // An impossible date (2026-02-30) never holds.
      endsAt: start === undefined ? Number.NEGATIVE_INFINITY : start + DAY_MS,
      namespace: exemption.namespace,
      kind: exemption.kind,
      name: exemption.name === undefined ? undefined : globToRegExp(exemption.name),
      label: labelOf(exemption),
    };
  });
}

function covers(grant: Grant, finding: Finding): boolean {
  if (grant.rules !== undefined && !grant.rules.has(finding.rule)) return false;
  return grant.container === undefined || grant.container === finding.container;
}

function configCovers(exemption: CompiledConfigExemption, finding: Finding): boolean {
  if (exemption.namespace !== undefined && exemption.namespace !== finding.namespace) return false;
  if (exemption.kind !== undefined && exemption.kind !== finding.kind) return false;
  if (exemption.name !== undefined && !exemption.name.test(finding.name)) return false;
  return covers(exemption, finding);
}

export interface AnnotationExemptionInput {
  object: Readonly<Record<string, unknown>>;
  now: number;
  maxExemptionDays: number;
  /** Set when the annotations were added or changed by a requester outside policyAdmins. */
  setByNonAdmin: string | undefined;
  knownRules: ReadonlyMap<string, Rule>;
}

/**
 * The exemption the object's annotations grant, with notices for what was ignored and why.
 * An exemption without a reason or an expiry, with an expiry that is past or more than
 * maxExemptionDays ahead, or set by a requester outside policyAdmins grants nothing.
 */
export function annotationExemption(input: AnnotationExemptionInput): {
  grant: Grant | undefined;
  notices: string[];
} {
  const annotations = metadataMap(input.object, "annotations");
  const list = stringAt(annotations, EXEMPT_ANNOTATION);
  if (list === undefined) return { grant: undefined, notices: [] };
  const ignored = (why: string) => ({ grant: undefined, notices: [`exemption ignored: ${why}`] });
  if (input.setByNonAdmin !== undefined) {
    return ignored(`set by ${quote(input.setByNonAdmin)}, who is not in policyAdmins`);
  }
  const reason = stringAt(annotations, EXEMPT_REASON_ANNOTATION)?.trim() ?? "";
  if (reason === "") return ignored(`${EXEMPT_REASON_ANNOTATION} is missing`);
  const until = stringAt(annotations, EXEMPT_UNTIL_ANNOTATION)?.trim() ?? "";
  if (until === "") return ignored(`${EXEMPT_UNTIL_ANNOTATION} is missing`);
  const start = dayStart(until);
  if (start === undefined) {
    return ignored(`${EXEMPT_UNTIL_ANNOTATION} ${quote(until)} is not a date (YYYY-MM-DD)`);
  }
  if (start + DAY_MS <= input.now) return ignored(`${EXEMPT_UNTIL_ANNOTATION} ${until} has passed`);
  if (start > input.now + input.maxExemptionDays * DAY_MS) {
    return ignored(
      `${EXEMPT_UNTIL_ANNOTATION} ${until} is more than ${input.maxExemptionDays} days ahead (maxExemptionDays)`,
    );
  }
  const notices: string[] = [];
  const rules = new Set<string>();
  const unknown = new Set<string>();
  const unexemptable = new Set<string>();
  // Read id by id rather than split: a split of the whole annotation is the millions of strings
  // this bound is there to avoid.
  let from = 0;
  let read = 0;
  for (; from <= list.length && read < MAX_EXEMPT_IDS; read++) {
    const comma = list.indexOf(",", from);
    const end = comma === -1 ? list.length : comma;
    const id = list.slice(from, end).trim();
    from = end + 1;
    if (id === "") continue;
    // No rule id (nor policy name) is longer than a Kubernetes name.
    const rule = id.length > MAX_QUOTED ? undefined : input.knownRules.get(id);
    if (rule === undefined) unknown.add(id);
    else if (rule.alwaysEnforced) unexemptable.add(id);
    else rules.add(id);
  }
  let named = 0;
  for (const id of unknown) {
    if (named++ === MAX_NAMED_UNKNOWN) break;
    notices.push(`exemption: ${quote(id)} in ${EXEMPT_ANNOTATION} is no rule`);
  }
  if (unknown.size > MAX_NAMED_UNKNOWN) {
    notices.push(
      `exemption: ${unknown.size - MAX_NAMED_UNKNOWN} more ids in ${EXEMPT_ANNOTATION} are no rule`,
    );
  }
  for (const id of unexemptable) notices.push(`exemption: ${id} cannot be exempted`);
  if (from <= list.length && list.slice(from).trim() !== "") {
    notices.push(
      `exemption: ${EXEMPT_ANNOTATION} lists more than ${MAX_EXEMPT_IDS} ids; only the first ${MAX_EXEMPT_IDS} were read`,
    );
  }
  if (rules.size === 0) return { grant: undefined, notices };
  return {
    grant: {
      ref: { source: "annotation", reason, until },
      rules,
      container: undefined,
      endsAt: start + DAY_MS,
    },
    notices,
  };
}

export interface ExemptionResult {
  kept: Finding[];
  exempted: Finding[];
  notices: string[];
}

/**
 * Split findings into those that stand and those an exemption covers (config first, then
 * annotations). Expired config exemptions that would have matched are named in a notice.
 * Rules marked alwaysEnforced are never exempted.
 */
export function applyExemptions(
  findings: readonly Finding[],
  fromConfig: readonly CompiledConfigExemption[],
  annotation: Grant | undefined,
  registry: ReadonlyMap<string, Rule>,
  now: number,
): ExemptionResult {
  const kept: Finding[] = [];
  const exempted: Finding[] = [];
  const expired = new Set<CompiledConfigExemption>();
  const used = new Map<Grant, Set<string>>();
  for (const finding of findings) {
    let grant: Grant | undefined;
    if (!registry.get(finding.rule)?.alwaysEnforced) {
      for (const exemption of fromConfig) {
        if (!configCovers(exemption, finding)) continue;
        if (exemption.endsAt <= now) {
          expired.add(exemption);
          continue;
        }
        grant = exemption;
        break;
      }
      if (grant === undefined && annotation !== undefined && covers(annotation, finding)) grant = annotation;
    }
    if (grant === undefined) kept.push(finding);
    else {
      exempted.push({ ...finding, exemption: grant.ref });
      const rules = used.get(grant) ?? new Set<string>();
      rules.add(finding.rule);
      used.set(grant, rules);
    }
  }
  const notices = [...expired].map((e) =>
    dayStart(e.ref.until) === undefined
      ? `exemption ignored: ${e.label} has an invalid until ${JSON.stringify(e.ref.until)}`
      : `exemption ignored: ${e.label} expired on ${e.ref.until}`,
  );
  for (const [grant, rules] of used) {
    // Whole days from today (UTC) to its last day: 0 when today is the last day it holds.
    const days = Math.round((grant.endsAt - DAY_MS - Math.floor(now / DAY_MS) * DAY_MS) / DAY_MS);
    if (days > EXPIRY_WARNING_DAYS) continue;
    const by = grant.ref.source === "annotation" ? "" : ` by ${(grant as CompiledConfigExemption).label}`;
    const left = days === 0 ? "today" : days === 1 ? "in 1 day" : `in ${days} days`;
    notices.push(
      `exemption ends ${left}: ${[...rules].join(", ")} exempted until ${grant.ref.until}${by}; fix the object or renew it`,
    );
  }
  return { kept, exempted, notices };
}
