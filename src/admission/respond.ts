import { DENIAL_REASONS } from "../vap/compile.js";
import type { Evaluation, RuleError } from "../engine/evaluate.js";
import type { Finding } from "../rules/types.js";
import { clipText, MAX_QUOTED, quote } from "../rules/visit.js";

/** Kubernetes cuts a warning past 256 characters. */
export const MAX_WARNING = 256;
/**
 * Findings shown as warnings, and deny findings listed in a denial. Kubernetes passes on about
 * 4 KiB of warnings per response, and a 1.5 MiB Pod of tiny containers yields hundreds of
 * thousands of findings: unbounded, that is a response of tens of megabytes.
 */
export const MAX_LISTED = 30;
/**
 * One line of a denial. Names are clipped where rules quote them (`MAX_QUOTED`), but rules also
 * interpolate values (a hostPath's path) that can be megabytes long; 1 KiB holds three quoted
 * names, a field path and the fix.
 */
export const MAX_DENIAL_LINE = 1024;
/** Notices, and warnings about rules that failed or did not finish, shown each; the rest are counted. */
export const MAX_NOTICES = 10;
/** The whole status message, whatever the object holds: MAX_LISTED lines and the rest fit. */
export const MAX_MESSAGE = 40 * 1024;

export interface AdmissionResponse {
  apiVersion: "admission.k8s.io/v1";
  kind: "AdmissionReview";
  response: {
    uid: string;
    allowed: boolean;
    status?: { code: number; reason: string; message: string };
    warnings?: string[];
  };
}

/** The part of a finding's path that locates it: the container when there is one, else the field. */
function locationOf(finding: Finding): string {
  if (finding.container === undefined) return finding.path;
  const marker = `[name=${finding.container}]`;
  const at = finding.path.indexOf(marker);
  return at === -1 ? finding.path : finding.path.slice(0, at + marker.length);
}

function clip(text: string, max = MAX_WARNING): string {
  return clipText(text, max);
}

/** One short warning for one finding: `rule: message (where)`. */
export function warningOf(finding: Finding): string {
  // A ValidatingAdmissionPolicy judges the object, not a field: its findings have no path.
  const where = finding.path === "" ? "" : ` (${locationOf(finding)})`;
  return clip(`${finding.rule}: ${finding.message}${where}`);
}

function describeObject(finding: Finding): string {
  const where = finding.namespace ? ` in namespace ${quote(finding.namespace)}` : "";
  return `${clipText(finding.kind, MAX_QUOTED)} ${quote(finding.name)}${where}`;
}

/** The denial message: every deny finding with its field path and fix. */
export function denialMessage(denials: readonly Finding[]): string {
  const first = denials[0];
  if (!first) return "";
  const count = denials.length === 1 ? "1 violation" : `${denials.length} violations`;
  const lines = denials
    .slice(0, MAX_LISTED)
    .map((f) =>
      clip(
        `- ${f.rule}: ${f.message}${f.path === "" ? "" : ` at ${f.path}`}. Fix: ${f.fix}`,
        MAX_DENIAL_LINE,
      ),
    );
  if (denials.length > MAX_LISTED) {
    lines.push(`- and ${denials.length - MAX_LISTED} more; \`tollgate check\` lists them all`);
  }
  return `tollgate: ${describeObject(first)} has ${count}:\n${lines.join("\n")}`;
}

export interface Verdict {
  allowed: boolean;
  warnings: string[];
  message?: string;
  /** The status reason of a denial; `Forbidden` when absent. */
  reason?: string;
}

/**
 * Up to `max` distinct lines for the items `keep` keeps (all when absent), then one that counts
 * the rest. Lines are made for at most
 * `4 * max` items, so that a million notices, alike or not, are not all turned into text to show ten.
 */
function listed<T>(
  items: readonly T[],
  max: number,
  line: (item: T) => string,
  rest: (n: number) => string,
  keep?: (item: T) => boolean,
) {
  // An array, not a Set: for a few dozen lines a scan that stops at the first differing length
  // or character costs less than hashing every line (measured: a third of the time of verdictOf).
  const shown: string[] = [];
  let more = 0;
  let tried = 0;
  for (const item of items) {
    if (keep && !keep(item)) continue;
    if (shown.length >= max || tried >= 4 * max) {
      more++;
      continue;
    }
    tried++;
    const text = line(item);
    if (!shown.includes(text)) shown.push(text);
  }
  if (more > 0) shown.push(rest(more));
  return shown;
}

function ruleErrorWarning({ rule, error, unfinished }: RuleError): string {
  return clip(
    unfinished
      ? `tollgate: judging did not finish at rule ${rule}: ${error}; tell your platform team`
      : `${rule}: the rule failed on this object and was not applied; tell your platform team`,
  );
}

/**
 * Turn an evaluation into a verdict: deny findings deny, and so does an evaluation that fails
 * closed (the engine's `resolve` decides both); everything else warns. The answer is bounded whatever the object holds: MAX_LISTED findings,
 * MAX_NOTICES notices and rule errors, each line clipped, the message at most MAX_MESSAGE.
 */
export function verdictOf(evaluation: Evaluation): Verdict {
  const warnings = listed(
    evaluation.findings,
    MAX_LISTED,
    warningOf,
    (n) => `tollgate: ${n} more warnings; \`tollgate check\` lists them all`,
    // Findings of a binding with only Audit are for reports and metrics, never for the requester.
    (f) => f.severity !== "deny" && f.audit !== true,
  );
  warnings.push(
    ...listed(evaluation.notices, MAX_NOTICES, clip, (n) => `tollgate: ${n} more notices not shown`),
    ...listed(
      evaluation.ruleErrors,
      MAX_NOTICES,
      ruleErrorWarning,
      (n) => `tollgate: ${n} more rule errors not shown`,
    ),
  );
  const { failClosed } = evaluation;
  if (evaluation.denials.length === 0 && failClosed === undefined) return { allowed: true, warnings };
  const unfinished = failClosed?.unfinished ?? [];
  const failed = failClosed?.failed ?? [];
  const parts = [denialMessage(evaluation.denials)];
  if (unfinished.length > 0) {
    parts.push(
      ...listed(
        unfinished,
        MAX_NOTICES,
        ({ rule, error }) =>
          clip(
            `tollgate: could not finish judging the object at rule ${rule}: ${error}; it is denied until tollgate can judge it in full`,
            MAX_DENIAL_LINE,
          ),
        (n) => `tollgate: and ${n} more reasons it could not finish`,
      ),
    );
  }
  if (failed.length > 0) {
    const names = failed.slice(0, MAX_NOTICES).join(", ");
    const more = failed.length > MAX_NOTICES ? ` and ${failed.length - MAX_NOTICES} more` : "";
    parts.push(
      `tollgate: rule${failed.length > 1 ? "s" : ""} ${names}${more} failed on this object and the policy fails closed`,
    );
  }
  const verdict: Verdict = {
    allowed: false,
    warnings,
    message: clip(parts.filter((p) => p !== "").join("\n"), MAX_MESSAGE),
  };
  // One status for the answer: the first denial's, as the apiserver answers with the first
  // denying policy's reason. A built-in rule's denial is Forbidden.
  const reason = evaluation.denials[0]?.reason;
  if (reason !== undefined) verdict.reason = reason;
  return verdict;
}

export function admissionResponse(uid: string, verdict: Verdict): AdmissionResponse {
  const response: AdmissionResponse["response"] = { uid, allowed: verdict.allowed };
  if (!verdict.allowed) {
    const reason = verdict.reason ?? "Forbidden";
    response.status = {
      code: DENIAL_REASONS[reason] ?? 403,
      reason,
      message: verdict.message ?? "denied by tollgate",
    };
  }
  if (verdict.warnings.length > 0) response.warnings = verdict.warnings;
  return { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response };
}
