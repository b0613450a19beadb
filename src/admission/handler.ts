import type { FastifyBaseLogger } from "fastify";
import { evaluate } from "../engine/evaluate.js";
import type { Policy } from "../engine/policy.js";
import { kindLabel, type Metrics } from "../metrics.js";
import type { ClusterFacts, Mode, Rule } from "../rules/types.js";
import { type AdmissionResponse, admissionResponse, verdictOf } from "./respond.js";
import type { AdmissionReview } from "./schema.js";
import { promotionPreview } from "./preview.js";
import type { StandingPicture } from "../audit/scanner.js";
import { type DecisionFields, logText } from "../log.js";

/** The kinds the rules name, per registry: the only kinds a metric label takes as they are. */
const knownKinds = new WeakMap<ReadonlyMap<string, Rule>, ReadonlySet<string>>();

function kindsOf(registry: ReadonlyMap<string, Rule>): ReadonlySet<string> {
  let kinds = knownKinds.get(registry);
  if (!kinds) {
    kinds = new Set([...registry.values()].flatMap((rule) => rule.kinds));
    knownKinds.set(registry, kinds);
  }
  return kinds;
}

function nameOf(object: Record<string, unknown>): string {
  const meta = object.metadata;
  if (typeof meta !== "object" || meta === null) return "";
  const { name, generateName } = meta as { name?: unknown; generateName?: unknown };
  return typeof name === "string" ? name : typeof generateName === "string" ? generateName : "";
}

/**
 * The request's Namespace from the informer cache, for ValidatingAdmissionPolicies; null when the
 * object is cluster-scoped or the cache does not know it (no cluster access, not synced yet).
 */
function namespaceObjectOf(request: AdmissionReview["request"], facts: ClusterFacts | undefined) {
  const name = request.namespace;
  if (!name) return null;
  return facts?.namespace?.(name) ?? null;
}

export interface HandlerDeps {
  policy: () => Policy;
  metrics: Metrics;
  log: FastifyBaseLogger;
  facts?: () => ClusterFacts | undefined;
  standing?: () => StandingPicture | undefined;
  /** Writes the decision line (src/log.ts `decisionWriter`); `log.info` when absent. */
  decision?: (fields: DecisionFields) => void;
}

/**
 * Answer one validated AdmissionReview in the given mode, log one line and count it.
 * Never throws for anything the object holds: rules that throw are contained by the engine.
 */
function resourceOf(resource: { group?: string; version?: string; resource?: string }) {
  return { group: resource.group ?? "", version: resource.version ?? "", resource: resource.resource ?? "" };
}

export function answerReview(review: AdmissionReview, mode: Mode, deps: HandlerDeps): AdmissionResponse {
  const started = process.hrtime.bigint();
  const request = review.request;
  const policy = deps.policy();
  const object = request.object ?? request.oldObject ?? {};
  const facts = deps.facts?.();
  const evaluation = evaluate(
    {
      object,
      oldObject: request.oldObject ?? undefined,
      operation: request.operation,
      namespace: request.namespace,
      subResource: request.subResource,
      userInfo: request.userInfo,
      mode,
      source: "admission",
      facts,
      ...(request.resource?.resource ? { resource: resourceOf(request.resource) } : {}),
      ...(request.requestResource?.resource && request.requestKind
        ? {
            requested: {
              kind: {
                group: request.requestKind.group ?? "",
                version: request.requestKind.version ?? "",
                kind: request.requestKind.kind,
              },
              resource: resourceOf(request.requestResource),
            },
          }
        : {}),
      dryRun: request.dryRun === true,
      namespaceObject: namespaceObjectOf(request, facts),
    },
    policy,
  );
  const verdict = verdictOf(evaluation);
  if (verdict.allowed && request.kind.kind === "Namespace" && deps.standing !== undefined) {
    verdict.warnings.push(...promotionPreview(request, policy, deps.standing()));
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;

  const label = evaluation.skipped
    ? "skipped"
    : !verdict.allowed
      ? "denied"
      : verdict.warnings.length > 0
        ? "warned"
        : "allowed";
  const { metrics } = deps;
  metrics.countDecision(
    label,
    // The config's pod-template kinds are a fixed set too.
    policy.templates.has(`${request.kind.group}/${request.kind.kind}`)
      ? request.kind.kind
      : kindLabel(request.kind.kind, kindsOf(policy.registry)),
    mode,
  );
  metrics.duration.observe({ mode }, seconds);
  for (const { rule, severity } of evaluation.findings) metrics.countFinding(rule, mode, severity);
  const uid = logText(request.uid);
  const kind = logText(request.kind.kind);
  for (const slow of evaluation.slowRules) {
    metrics.ruleSlow.inc({ rule: slow.rule });
    deps.log.warn({ uid, rule: slow.rule, kind, ms: slow.ms }, "rule slow");
  }
  for (const ruleError of evaluation.ruleErrors) {
    if (ruleError.unfinished === undefined) metrics.ruleErrors.inc({ rule: ruleError.rule });
    deps.log.error(
      {
        uid,
        rule: ruleError.rule,
        kind,
        namespace: logText(request.namespace),
        name: logText(request.name),
        err: logText(ruleError.error),
      },
      "rule failed",
    );
  }
  const fields: DecisionFields = {
    uid,
    operation: request.operation,
    kind,
    namespace: logText(request.namespace),
    name: logText(request.name || nameOf(object)),
    user: logText(request.userInfo?.username),
    mode,
    dryRun: request.dryRun === true,
    verdict: label,
    rules: [...new Set(evaluation.findings.map((f) => f.rule))],
    skipped: evaluation.skipped === undefined ? undefined : logText(evaluation.skipped),
    durationMs: Math.round(seconds * 1e6) / 1e3,
  };
  if (deps.decision) deps.decision(fields);
  else deps.log.info(fields, "decision");
  return admissionResponse(request.uid, verdict);
}
