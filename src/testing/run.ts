import type { FastifyBaseLogger } from "fastify";
import { pino } from "pino";
import { answerReview } from "../admission/handler.js";
import type { AdmissionResponse } from "../admission/respond.js";
import { parseReview } from "../admission/schema.js";
import type { Policy } from "../engine/policy.js";
import type { Metrics } from "../metrics.js";
import {
  groupOf,
  guessResource,
  kindOrTemplate,
  NO_TEMPLATE_KINDS,
  type TemplateKinds,
} from "../objects/kinds.js";
import { isRecord, type KubeObject } from "../objects/object.js";
import type { ClusterFacts } from "../rules/types.js";
import type { TestCase, Verdict } from "./suite.js";

export interface CaseResult {
  case: TestCase;
  passed: boolean;
  got: { verdict: Verdict; rules: string[]; message: string; warnings: string[] };
  /** What did not match, one line each; empty when the case passed. */
  failures: string[];
}

/** A logger that writes nothing: the runner reports cases, not decision lines. */
const SILENT = pino({ level: "silent" }) as unknown as FastifyBaseLogger;

function metadataOf(object: KubeObject | undefined): Record<string, unknown> {
  return object && isRecord(object.metadata) ? object.metadata : {};
}

/**
 * The AdmissionReview the apiserver would send for a case: the object's group, version and kind,
 * its resource from tollgate's kinds table or the config's pod templates (or the lower-case plural,
 * for a kind neither names).
 */
export function reviewFor(
  testCase: TestCase,
  index: number,
  templates: TemplateKinds = NO_TEMPLATE_KINDS,
): unknown {
  const subject = testCase.object ?? testCase.oldObject ?? {};
  const apiVersion = typeof subject.apiVersion === "string" ? subject.apiVersion : "";
  const kind = typeof subject.kind === "string" ? subject.kind : "";
  const group = groupOf(apiVersion);
  const version = apiVersion.includes("/") ? apiVersion.slice(apiVersion.indexOf("/") + 1) : apiVersion;
  const info = kindOrTemplate(group, kind, templates);
  const metadata = metadataOf(subject);
  const namespace =
    testCase.namespace ??
    (typeof metadata.namespace === "string"
      ? metadata.namespace
      : info?.namespaced === false
        ? ""
        : "default");
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: `tollgate-test-${index + 1}`,
      kind: { group, version, kind },
      resource: { group, version, resource: info?.resource ?? guessResource(kind) },
      name: typeof metadata.name === "string" ? metadata.name : "",
      ...(namespace === "" ? {} : { namespace }),
      operation: testCase.operation,
      userInfo: testCase.userInfo,
      object: testCase.operation === "DELETE" ? null : (testCase.object ?? null),
      oldObject: testCase.oldObject ?? null,
      dryRun: false,
    },
  };
}

/** The rule ids a response names: each denial line `- <id>: …` and each warning `<id>: …`. */
export function rulesOf(response: AdmissionResponse["response"], known: ReadonlySet<string>): string[] {
  const ids = [
    ...[...(response.status?.message ?? "").matchAll(/^- ([^:\n]+): /gm)].map((match) => match[1]!),
    ...(response.warnings ?? []).map((warning) => warning.slice(0, Math.max(0, warning.indexOf(": ")))),
  ];
  return [...new Set(ids.filter((id) => known.has(id)))].sort();
}

/** Runs one case through the webhook's own path: review validation, the handler, the response. */
export function runCase(
  testCase: TestCase,
  index: number,
  policy: Policy,
  metrics: Metrics,
  facts?: ClusterFacts,
): CaseResult {
  const parsed = parseReview(reviewFor(testCase, index, policy.templates));
  if ("error" in parsed) {
    return {
      case: testCase,
      passed: false,
      got: { verdict: "allowed", rules: [], message: parsed.error, warnings: [] },
      failures: [`the case makes no valid AdmissionReview: ${parsed.error}`],
    };
  }
  const { response } = answerReview(parsed.review, testCase.mode, {
    policy: () => policy,
    metrics,
    log: SILENT,
    facts: () => facts,
  });
  const warnings = response.warnings ?? [];
  const verdict: Verdict = !response.allowed ? "denied" : warnings.length > 0 ? "warned" : "allowed";
  const message = response.status?.message ?? "";
  const rules = rulesOf(response, new Set(policy.registry.keys()));
  const failures: string[] = [];
  const { expect } = testCase;
  if (verdict !== expect.verdict) failures.push(`verdict: expected ${expect.verdict}, got ${verdict}`);
  if (expect.rules !== undefined) {
    const wanted = [...new Set(expect.rules)].sort();
    if (wanted.join(",") !== rules.join(",")) {
      failures.push(`rules: expected [${wanted.join(", ")}], got [${rules.join(", ")}]`);
    }
  }
  if (
    expect.message !== undefined &&
    !message.includes(expect.message) &&
    !warnings.some((w) => w.includes(expect.message!))
  ) {
    failures.push(`message: expected a denial or warning containing ${JSON.stringify(expect.message)}`);
  }
  return {
    case: testCase,
    passed: failures.length === 0,
    got: { verdict, rules, message, warnings },
    failures,
  };
}
