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
