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
