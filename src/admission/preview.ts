import type { StandingPicture } from "../audit/scanner.js";
import { deniedInEnforce } from "../audit/policyReport.js";
import type { Policy } from "../engine/policy.js";
import { MODE_LABEL } from "../objects/labels.js";
import type { Report, ReportObject } from "../report/model.js";
import type { AdmissionReview } from "./schema.js";

/** Warnings name at most this many objects; a count says how many more. */
export const PREVIEW_LIMIT = 10;

/** `Kind name` of each object, the first PREVIEW_LIMIT, and how many more there are. */
function previewNames(objects: readonly ReportObject[]): { names: string[]; more: number } {
  const names = objects.slice(0, PREVIEW_LIMIT).map((object) => {
    const rules = [...new Set(object.findings.filter((f) => f.severity === "deny").map((f) => f.rule))];
    const shown = rules.length > 3 ? `${rules.slice(0, 3).join(", ")}, …` : rules.join(", ");
    return `${object.kind} ${object.name.slice(0, 100)} (${shown})`;
  });
  return { names, more: Math.max(0, objects.length - PREVIEW_LIMIT) };
}

/** The mode a Namespace's labels give it: its `tollgate.dev/mode` label, else the config's default. */
function modeOf(object: unknown, defaultMode: string): string {
  const labels = (object as { metadata?: { labels?: unknown } } | null | undefined)?.metadata?.labels;
  const value =
    typeof labels === "object" && labels !== null
      ? (labels as Record<string, unknown>)[MODE_LABEL]
      : undefined;
  return value === "enforce" || value === "warn" || value === "off" ? value : defaultMode;
}

/**
 * The promotion preview, as Pod Security Admission gives one for its labels: when an allowed write
 * turns a Namespace to enforce (the label set to `enforce`, or removed while `defaultMode` is
 * enforce), warnings name what runs there now that enforce would deny (the first 10 and a count),
 * from the scanner's picture. The write is not held up: without a picture yet, one warning says so.
 */
export function promotionPreview(
  request: AdmissionReview["request"],
  policy: Policy,
  standing: StandingPicture | undefined,
): string[] {
  if (request.operation !== "UPDATE" || request.subResource) return [];
  const { defaultMode } = policy.config;
  if (
    modeOf(request.object, defaultMode) !== "enforce" ||
    modeOf(request.oldObject, defaultMode) === "enforce"
  ) {
    return [];
  }
  const namespace = typeof request.name === "string" ? request.name : "";
  if (namespace === "" || policy.config.excludedNamespaces.includes(namespace)) return [];
  const denied = standing?.wouldDeny(namespace);
  if (denied === undefined) {
    return [
      "tollgate: the audit has not judged this namespace yet; run `tollgate audit --namespace` to see what enforce would deny",
    ];
  }
  return previewLines(namespace, denied).map((line) => `tollgate: ${line}`);
}

/**
 * What enforce would deny in `namespace` now, as the promotion preview and `tollgate audit
 * --preview enforce` say it: a line with the count, one per object (the first 10), and how many
 * more. Empty when nothing would be denied.
 */
export function previewLines(namespace: string, denied: readonly ReportObject[]): string[] {
  if (denied.length === 0) return [];
  const { names, more } = previewNames(denied);
  const count = denied.length === 1 ? "1 object that runs" : `${denied.length} objects that run`;
  return [
    `enforce would deny ${count} in ${namespace} now:`,
    ...names.map((name) => `- ${name}`),
    ...(more > 0 ? [`… and ${more} more (tollgate audit --namespace ${namespace})`] : []),
  ];
}

/** The objects of `namespace` in an audit report that enforce would deny (deny findings of admission rules). */
export function wouldDenyIn(
  report: Report,
  namespace: string,
  isAdmissionRule: (id: string) => boolean,
): ReportObject[] {
  return report.objects.filter(
    (object) => object.namespace === namespace && deniedInEnforce(object, isAdmissionRule),
  );
}
