import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { answerReview } from "../../src/admission/handler.js";
import { parseReview } from "../../src/admission/schema.js";
import { resolveConfig } from "../../src/config/load.js";
import { compilePolicy } from "../../src/engine/policy.js";
import { createMetrics } from "../../src/metrics.js";
import { RULES } from "../../src/rules/index.js";
import { loadPolicySetSync } from "../../src/vap/load.js";
import { review } from "../support/reviews.js";

const dir = mkdtempSync(join(tmpdir(), "tollgate-vap-status-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A policy on ConfigMaps that denies the name `bad`, with the given validation `reason` line. */
function policyFile(name: string, reason: string): string {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(
    path,
    `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: ${name}}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - {apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [configmaps]}
  validations:
    - expression: "object.metadata.name != 'bad'"
      message: "no ConfigMap named bad"
${reason}
`,
  );
  return path;
}

function statusFor(reason: string) {
  const { set, errors } = loadPolicySetSync([policyFile("no-bad", reason)], new Set(RULES.keys()));
  if (errors.length > 0) return { errors: errors.map((e) => e.message) };
  const policy = compilePolicy(resolveConfig({}), RULES, undefined, set);
  const parsed = parseReview(
    review({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "bad", namespace: "team-a" } }),
  );
  if ("error" in parsed) throw new Error(parsed.error);
  const log = pino({ level: "silent" });
  const answer = answerReview(parsed.review, "enforce", {
    policy: () => policy,
    metrics: createMetrics(),
    log,
  });
  const { code, reason: given } = answer.response.status ?? {};
  return { allowed: answer.response.allowed, code, reason: given };
}

describe("the status of a denial by a ValidatingAdmissionPolicy, as the apiserver gives it", () => {
  it("is Invalid (422) when the validation names no reason", () => {
    expect(statusFor("")).toEqual({ allowed: false, code: 422, reason: "Invalid" });
  });

  it.each([
    ["Forbidden", 403],
    ["Unauthorized", 401],
    ["RequestEntityTooLarge", 413],
    ["Invalid", 422],
  ])("is the validation's reason %s (%i)", (reason, code) => {
    expect(statusFor(`      reason: ${reason}`)).toEqual({ allowed: false, code, reason });
  });

  it("refuses a reason the apiserver does not know, at load, naming the field", () => {
    expect(statusFor("      reason: Teapot")).toEqual({
      errors: [
        `ValidatingAdmissionPolicy "no-bad": spec.validations[0].reason: unsupported value "Teapot": supported values: "Unauthorized", "Forbidden", "RequestEntityTooLarge", "Invalid"`,
      ],
    });
  });
});

/** A policy on autoscaling/v1 HorizontalPodAutoscalers that caps maxReplicas at 10. */
function hpaPolicy(matchPolicy: "Exact" | "Equivalent"): string {
  const path = join(dir, `hpa-${matchPolicy}.yaml`);
  writeFileSync(
    path,
    `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: hpa-cap}
spec:
  matchConstraints:
    matchPolicy: ${matchPolicy}
    resourceRules:
      - {apiGroups: [autoscaling], apiVersions: [v1], operations: [CREATE], resources: [horizontalpodautoscalers]}
  validations:
    - expression: "object.spec.maxReplicas <= 10"
      messageExpression: "'at most 10 replicas, asked ' + request.requestKind.version"
`,
  );
  return path;
}

/** A v2 HPA the apiserver converted to v1 for the webhook (its rules name v1 only). */
function convertedHpaReview() {
  const base = review({
    apiVersion: "autoscaling/v1",
    kind: "HorizontalPodAutoscaler",
    metadata: { name: "web", namespace: "team-a" },
    spec: { maxReplicas: 50, scaleTargetRef: { kind: "Deployment", name: "web" } },
  });
  return {
    ...base,
    request: {
      ...base.request,
      kind: { group: "autoscaling", version: "v1", kind: "HorizontalPodAutoscaler" },
      resource: { group: "autoscaling", version: "v1", resource: "horizontalpodautoscalers" },
      requestKind: { group: "autoscaling", version: "v2", kind: "HorizontalPodAutoscaler" },
      requestResource: { group: "autoscaling", version: "v2", resource: "horizontalpodautoscalers" },
    },
  };
}

function answerHpa(matchPolicy: "Exact" | "Equivalent") {
  const { set, errors } = loadPolicySetSync([hpaPolicy(matchPolicy)], new Set(RULES.keys()));
  expect(errors).toEqual([]);
  const policy = compilePolicy(resolveConfig({}), RULES, undefined, set);
  const parsed = parseReview(convertedHpaReview());
  if ("error" in parsed) throw new Error(parsed.error);
  const log = pino({ level: "silent" });
  return answerReview(parsed.review, "enforce", { policy: () => policy, metrics: createMetrics(), log })
    .response;
}

describe("a request the apiserver converted for the webhook, as a policy's matchPolicy sees it", () => {
  it("matches a v1 policy with Equivalent, the expressions seeing the request as made", () => {
    const response = answerHpa("Equivalent");
    expect(response.allowed).toBe(false);
    expect(response.status?.message).toContain("- hpa-cap: at most 10 replicas, asked v2");
  });

  it("does not match it with Exact: the request was for v2", () => {
    expect(answerHpa("Exact")).toMatchObject({ allowed: true });
  });
});
