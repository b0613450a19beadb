import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { answerReview } from "../../src/admission/handler.js";
import { parseReview } from "../../src/admission/schema.js";
import { resolveConfig } from "../../src/config/load.js";
import type { ConfigInput } from "../../src/config/schema.js";
import { compilePolicy } from "../../src/engine/policy.js";
import { createMetrics } from "../../src/metrics.js";
import { buildRegistry } from "../../src/rules/index.js";
import type { PodSpecTarget, Rule } from "../../src/rules/types.js";
import { review, rootPod } from "../support/reviews.js";

const exploding: Rule<PodSpecTarget> = {
  id: "exploding-rule",
  title: "A rule with a bug",
  category: "security",
  defaultSeverity: "deny",
  targets: ["podSpec"],
  kinds: ["Pod"],
  description: "Throws on every object.",
  remediation: "```yaml\n{}\n```",
  check() {
    throw new TypeError("Cannot read properties of undefined (reading 'image')");
  },
};

function answer(config: ConfigInput, mode: "enforce" | "warn") {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line)) });
  const metrics = createMetrics();
  const policy = compilePolicy(resolveConfig(config), buildRegistry([exploding as unknown as Rule]));
  const parsed = parseReview(review(rootPod(), { uid: "uid-boom" }));
  if ("error" in parsed) throw new Error(parsed.error);
  const response = answerReview(parsed.review, mode, { policy: () => policy, metrics, log });
  return { response, lines, metrics };
}

describe("a rule that throws", () => {
  it("is caught, logged and counted, and the request is allowed with a warning by default", async () => {
    const { response, lines, metrics } = answer({}, "enforce");
    expect(response.response).toEqual({
      uid: "uid-boom",
      allowed: true,
      warnings: [
        "exploding-rule: the rule failed on this object and was not applied; tell your platform team",
      ],
    });
    expect(lines.find((l) => l.msg === "rule failed")).toMatchObject({
      rule: "exploding-rule",
      uid: "uid-boom",
      err: "Cannot read properties of undefined (reading 'image')",
    });
    expect((await metrics.ruleErrors.get()).values).toEqual([
      { labels: { rule: "exploding-rule" }, value: 1 },
    ]);
  });

  it("denies in enforce mode when onRuleError is deny, and only warns in warn mode", () => {
    const enforced = answer({ onRuleError: "deny" }, "enforce").response.response;
    expect(enforced.allowed).toBe(false);
    expect(enforced.status?.message).toBe(
      "tollgate: rule exploding-rule failed on this object and the policy fails closed",
    );
    expect(answer({ onRuleError: "deny" }, "warn").response.response.allowed).toBe(true);
  });
});

describe("registry", () => {
  it("refuses a duplicate rule id", () => {
    const rule = exploding as unknown as Rule;
    expect(() => buildRegistry([rule, rule])).toThrow('rule id "exploding-rule" is registered twice');
  });

  it("refuses an id that is not kebab-case", () => {
    const rule = { ...exploding, id: "Run_As_Root" } as unknown as Rule;
    expect(() => buildRegistry([rule])).toThrow('rule id "Run_As_Root" is not kebab-case');
  });
});

describe("a custom resource named in podTemplates", () => {
  const rollout = {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Rollout",
    metadata: { name: "web", namespace: "team-a" },
    spec: { template: { metadata: {}, spec: rootPod().spec } },
  };
  const request = review(rollout, { uid: "uid-rollout" }) as { request: Record<string, unknown> };
  // As the apiserver sends it: the custom resource's own group, version and resource.
  request.request.kind = { group: "argoproj.io", version: "v1alpha1", kind: "Rollout" };
  request.request.resource = { group: "argoproj.io", version: "v1alpha1", resource: "rollouts" };

  function answerRollout(config: ConfigInput) {
    const metrics = createMetrics();
    const parsed = parseReview(request);
    if ("error" in parsed) throw new Error(parsed.error);
    const policy = compilePolicy(resolveConfig(config));
    const log = pino({ level: "silent" });
    return {
      response: answerReview(parsed.review, "enforce", { policy: () => policy, metrics, log }),
      metrics,
    };
  }

  it("is judged as a Deployment's template, counted under its own kind", async () => {
    const { response, metrics } = answerRollout({
      podTemplates: [{ group: "argoproj.io", kind: "Rollout", path: "spec.template" }],
    });
    expect(response.response.allowed).toBe(false);
    expect(response.response.status?.message?.split("\n")[0]).toBe(
      'tollgate: Rollout "web" in namespace "team-a" has 4 violations:',
    );
    expect((await metrics.decisions.get()).values).toEqual([
      { labels: { verdict: "denied", kind: "Rollout", mode: "enforce" }, value: 1 },
    ]);
  });

  it("is allowed unjudged without the config, and counted as other", async () => {
    const { response, metrics } = answerRollout({});
    expect(response.response).toEqual({ uid: "uid-rollout", allowed: true });
    expect((await metrics.decisions.get()).values).toEqual([
      { labels: { verdict: "allowed", kind: "other", mode: "enforce" }, value: 1 },
    ]);
  });
});
