import type { Policy } from "../engine/policy.js";
import { type KindName, KINDS, type TemplateKey } from "../objects/kinds.js";
import {
  controllerOf,
  type KubeObject,
  metadataOf,
  namespaceFor,
  namespacesIn,
  refOf,
} from "../objects/object.js";
import { judgeObject } from "../report/judge.js";
import {
  describeRule,
  type Report,
  type ReportError,
  type ReportFinding,
  type ReportObject,
  type RuleDescriptor,
} from "../report/model.js";
import { RULES } from "../rules/index.js";
import { runChecklist, withoutCovered } from "./checklist.js";
import { ALL_CHECKS } from "./checks/index.js";
import type { Check } from "./checks/types.js";
import type { ClusterSnapshot } from "./snapshot.js";

/**
 * Objects audit does not judge, though the webhook might see them: a Deployment's ReplicaSets and a
 * CronJob's Jobs (their template was judged on the owner, as for owned Pods), a configured pod
 * template's (a Rollout's ReplicaSets), and the RBAC objects
 * the apiserver itself creates and reconciles (`cluster-admin`, `system:*`), which nobody can fix.
 */
function skipReason(kind: KindName | TemplateKey, object: KubeObject, policy: Policy): string | undefined {
  if (kind !== "Pod" && policy.config.skipOwnedPods && controllerOf(object, policy.templates) !== undefined) {
    return "controlled by a workload whose template is checked";
  }
  if (metadataOf(object).labels?.["kubernetes.io/bootstrapping"] === "rbac-defaults") {
    return "built-in RBAC object (kubernetes.io/bootstrapping=rbac-defaults)";
  }
  return undefined;
}

function key(object: { kind: string; namespace: string; name: string }): string {
  return `${object.kind}\u0000${object.namespace}\u0000${object.name}`;
}

export interface AuditInput {
  snapshot: ClusterSnapshot;
  problems: { message: string; error: boolean }[];
  /** The kinds the rules judge (a pod template's in `snapshot.templates` are judged all). */
  judged: ReadonlySet<KindName | TemplateKey>;
  policy: Policy;
  now: Date;
  newestMinor?: number;
  /** The namespace the lists were limited to, if any. */
  namespace?: string | undefined;
}

/** One listed object as audit judges it, with the errors its rules raised. */
export interface JudgedObject {
  object: ReportObject;
  errors: ReportError[];
}

/**
 * One listed object of `kind` judged as audit does (enforce mode, the webhook's engine path), or
 * skipped with the reason: the scanner keeps these per object and re-judges only what changed.
 * `namespaces` are the cluster's Namespaces by name, for ValidatingAdmissionPolicies. A configured
 * pod template's kind (`<group>/<kind>`) is judged as `check` judges it, and skipped when owned as
 * a built-in workload is.
 */
export function judgeListed(
  kind: KindName | TemplateKey,
  object: KubeObject,
  policy: Policy,
  namespaces: ReadonlyMap<string, KubeObject>,
): JudgedObject {
  const errors: ReportError[] = [];
  const skipped = skipReason(kind, object, policy);
  if (skipped !== undefined) {
    const ref = refOf(object);
    return {
      object: {
        kind: ref.kind,
        namespace: ref.namespace,
        name: ref.name,
        file: null,
        line: null,
        rules: [],
        skipped,
        findings: [],
      },
      errors,
    };
  }
  const judged = judgeObject(
    object,
    policy,
    "enforce",
    "audit",
    { file: null, line: null },
    errors,
    namespaceFor(object, namespaces),
  );
  return { object: judged, errors };
}

/** Everything after the listing, pure: rules on each object, the checklist, errors and notes. */
export function auditReport(input: AuditInput): Report {
  const { snapshot, policy } = input;
  const judged: JudgedObject[] = [];
  // ValidatingAdmissionPolicies read the labels of an object's Namespace and namespaceObject.
  const namespaces = namespacesIn(snapshot.objects.Namespace ?? []);
  for (const kind of Object.keys(KINDS) as KindName[]) {
    if (!input.judged.has(kind)) continue;
    for (const object of snapshot.objects[kind] ?? [])
      judged.push(judgeListed(kind, object, policy, namespaces));
  }
  // The config's pod templates: the lister lists only those the rules judge.
  for (const [key, objects] of snapshot.templates ?? []) {
    for (const object of objects) judged.push(judgeListed(key, object, policy, namespaces));
  }
  return assembleAuditReport(input, judged);
}

/**
 * The audit report from objects already judged (`judgeListed`): their findings, the checklist over
 * the snapshot (a checklist finding a rule already made on the same object is dropped), and the
 * listing's problems as errors and notes.
 */
export function assembleAuditReport(input: AuditInput, judged: readonly JudgedObject[]): Report {
  const { snapshot, policy } = input;
  const errors: ReportError[] = input.problems
    .filter((p) => p.error)
    .map((p) => ({ file: null, line: null, message: p.message }));
  const notes = input.problems.filter((p) => !p.error).map((p) => p.message);
  // Copies: checklist findings are added below, and the scanner keeps the judged objects.
  const objects: ReportObject[] = judged.map(({ object }) => ({ ...object, findings: [...object.findings] }));
  for (const entry of judged) errors.push(...entry.errors);
  const ruleFindings = objects.flatMap((o) => o.findings);
  const checklist = runChecklist(snapshot, {
    now: input.now,
    config: policy.config,
    ...(input.newestMinor === undefined ? {} : { newestMinor: input.newestMinor }),
  });
  notes.push(...checklist.notes);
  const byKey = new Map(objects.map((o) => [key(o), o]));
  for (const finding of withoutCovered(checklist.findings, ruleFindings)) {
    let object = byKey.get(key(finding));
    if (!object) {
      object = { ...pick(finding), file: null, line: null, rules: [], findings: [] };
      byKey.set(key(finding), object);
      objects.push(object);
    }
    object.findings.push(finding);
    if (!object.rules.includes(finding.rule)) object.rules = [...object.rules, finding.rule];
  }
  return {
    command: "audit",
    mode: "enforce",
    objects,
    errors,
    notes,
    files: 0,
    documents: judged.length,
    namespace: input.namespace,
  };
}

function pick(finding: ReportFinding) {
  return { kind: finding.kind, namespace: finding.namespace, name: finding.name };
}

function describeCheck(check: Check): RuleDescriptor {
  return {
    id: check.id,
    title: check.title,
    category: check.category,
    defaultSeverity: check.defaultSeverity,
    description: check.description,
    remediation: check.remediation,
  };
}

/** Rules and checks, as SARIF describes them. */
export function auditDescriptors(): RuleDescriptor[] {
  return [...[...RULES.values()].map(describeRule), ...ALL_CHECKS.map(describeCheck)];
}
