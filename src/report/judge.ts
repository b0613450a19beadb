import { evaluate } from "../engine/evaluate.js";
import type { Policy } from "../engine/policy.js";
import { extractTargets } from "../engine/targets.js";
import type { Finding, Mode, Source } from "../rules/types.js";
import { objectLabel, type ReportError, type ReportObject, reportFinding } from "./model.js";
import { duplicateContainerName } from "../engine/duplicates.js";
import { type KubeObject, refOf } from "../objects/object.js";
import { groupOf } from "../objects/kinds.js";

/** Where an object came from: a file and line for `check`, nothing for `audit`. */
export interface Placement {
  file: string | null;
  line: number | null;
  /** The line of a finding's field path, for objects read from a file. */
  lineOf?: (path: string) => number;
}

/**
 * The ids of the rules that check this object in this source, in catalog order: not a rule for
 * other kinds (pdb-missing on a Pod, probes on a Job), nor one that needs the informer cache,
 * which `check` and `audit` do not have, so that a report never shows a check as passed that did not run.
 */
export function rulesFor(object: KubeObject, policy: Policy, source: Source): string[] {
  const ids = new Set<string>();
  const ref = refOf(object);
  // A configured pod template is checked by the rules of the built-in kind it is like.
  const kind = policy.templates.get(`${groupOf(ref.apiVersion)}/${ref.kind}`)?.like ?? ref.kind;
  const plan = policy.bySource[source].byTarget;
  const targets = extractTargets(object, "", policy.templates);
  // ValidatingAdmissionPolicies read the whole request, whatever the kind's targets.
  for (const type of [...targets.map((target) => target.type), "request" as const]) {
    for (const { rule } of plan.get(type) ?? []) {
      if (rule.needsFacts || !rule.kinds.includes(kind)) continue;
      ids.add(rule.id);
    }
  }
  return [...ids];
}

/**
 * Judge one object exactly as the webhook would on CREATE in `mode`, and place its findings.
 * `namespaceObject` is its Namespace, when known, for ValidatingAdmissionPolicies.
 * Rules that throw become errors, so a broken rule never passes for a clean object.
 */
export function judgeObject(
  object: KubeObject,
  policy: Policy,
  mode: Mode,
  source: Source,
  placement: Placement,
  errors: ReportError[],
  namespaceObject?: KubeObject | null,
): ReportObject {
  const ref = refOf(object);
  const evaluation = evaluate({ object, operation: "CREATE", mode, source, namespaceObject }, policy);
  const base = {
    kind: ref.kind,
    ...(typeof object.apiVersion === "string" ? { apiVersion: object.apiVersion } : {}),
    namespace: ref.namespace,
    name: ref.name,
    file: placement.file,
    line: placement.line,
  };
  if (evaluation.skipped !== undefined)
    return { ...base, rules: [], skipped: evaluation.skipped, findings: [] };
  const invalid = duplicateContainerName(extractTargets(object, "", policy.templates));
  if (invalid !== undefined) {
    // An input error, as the apiserver's: not judged, so its findings are not doubled.
    errors.push({
      file: placement.file,
      line: placement.lineOf ? placement.lineOf(invalid.path) : placement.line,
      message: `${objectLabel(ref)} is invalid: ${invalid.message}; the apiserver refuses it, so it was not checked`,
    });
    return { ...base, rules: [], skipped: `invalid: ${invalid.message}`, findings: [] };
  }
  for (const failure of evaluation.ruleErrors) {
    errors.push({
      file: placement.file,
      line: placement.line,
      message: `rule ${failure.rule} failed on ${ref.kind} ${ref.name}: ${failure.error}`,
    });
  }
  const lineOf = placement.lineOf;
  const place = (finding: Finding) =>
    reportFinding(finding, placement.file, lineOf ? lineOf(finding.path) : placement.line);
  return {
    ...base,
    rules: rulesFor(object, policy, source),
    findings: evaluation.findings.map(place),
    ...(evaluation.exempted.length > 0 ? { exempted: evaluation.exempted.map(place) } : {}),
    ...(evaluation.notices.length > 0 ? { notices: evaluation.notices } : {}),
  };
}
