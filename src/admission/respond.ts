import type { Evaluation } from "../engine/evaluate.js";
import type { Finding } from "../rules/types.js";

/** Kubernetes cuts a warning past 256 characters. */
export const MAX_WARNING = 256;
/**
 * Findings shown as warnings, and deny findings listed in a denial. Kubernetes passes on about
 * 4 KiB of warnings per response, and a 1.5 MiB Pod of tiny containers yields hundreds of
 * thousands of findings: unbounded, that is a response of tens of megabytes.
 */
export const MAX_LISTED = 30;

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

function clip(text: string): string {
  return text.length <= MAX_WARNING ? text : `${text.slice(0, MAX_WARNING - 1)}…`;
}

/** One short warning for one finding: `rule: message (where)`. */
export function warningOf(finding: Finding): string {
  return clip(`${finding.rule}: ${finding.message} (${locationOf(finding)})`);
}

function describeObject(finding: Finding): string {
  const where = finding.namespace ? ` in namespace ${JSON.stringify(finding.namespace)}` : "";
  return `${finding.kind} ${JSON.stringify(finding.name)}${where}`;
}

/** The denial message: every deny finding with its field path and fix. */
export function denialMessage(denials: readonly Finding[]): string {
  const first = denials[0];
  if (!first) return "";
  const count = denials.length === 1 ? "1 violation" : `${denials.length} violations`;
  const lines = denials
    .slice(0, MAX_LISTED)
    .map((f) => `- ${f.rule}: ${f.message} at ${f.path}. Fix: ${f.fix}`);
  if (denials.length > MAX_LISTED) {
    lines.push(`- and ${denials.length - MAX_LISTED} more; \`tollgate check\` lists them all`);
  }
  return `tollgate: ${describeObject(first)} has ${count}:\n${lines.join("\n")}`;
}

export interface Verdict {
  allowed: boolean;
  warnings: string[];
  message?: string;
}

/** Turn an evaluation into a verdict: deny findings deny, everything else warns. */
export function verdictOf(evaluation: Evaluation, onRuleError: "allow" | "deny", enforce: boolean): Verdict {
  const warnings: string[] = [];
  let unlisted = 0;
  for (const finding of evaluation.findings) {
    if (finding.severity === "deny") continue;
    if (warnings.length < MAX_LISTED) warnings.push(warningOf(finding));
    else unlisted++;
  }
  if (unlisted > 0) warnings.push(`tollgate: ${unlisted} more warnings; \`tollgate check\` lists them all`);
  for (const notice of evaluation.notices ?? []) warnings.push(clip(notice));
  for (const { rule, timedOut } of evaluation.ruleErrors) {
    warnings.push(
      clip(
        timedOut
          ? `${rule}: tollgate ran out of time at this rule; later rules were not applied; tell your platform team`
          : `${rule}: the rule failed on this object and was not applied; tell your platform team`,
      ),
    );
  }
  const failClosed = enforce && onRuleError === "deny" && evaluation.ruleErrors.length > 0;
  if (evaluation.denials.length === 0 && !failClosed) return { allowed: true, warnings };
  const parts = [denialMessage(evaluation.denials)];
  if (failClosed) {
    parts.push(
      `tollgate: rule${evaluation.ruleErrors.length > 1 ? "s" : ""} ${evaluation.ruleErrors.map((e) => e.rule).join(", ")} failed on this object and the policy fails closed`,
    );
  }
  return { allowed: false, warnings, message: parts.filter((p) => p !== "").join("\n") };
}

export function admissionResponse(uid: string, verdict: Verdict): AdmissionResponse {
  const response: AdmissionResponse["response"] = { uid, allowed: verdict.allowed };
  if (!verdict.allowed) {
    response.status = { code: 403, reason: "Forbidden", message: verdict.message ?? "denied by tollgate" };
  }
  if (verdict.warnings.length > 0) response.warnings = verdict.warnings;
  return { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response };
}
