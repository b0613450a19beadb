import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { answerReview } from "../../src/admission/handler.js";
import { parseReview } from "../../src/admission/schema.js";
import { resolveConfig } from "../../src/config/load.js";
import type { ConfigInput } from "../../src/config/schema.js";
import { DEFAULT_LIMITS, type EvaluationLimits } from "../../src/engine/budget.js";
import { compilePolicy } from "../../src/engine/policy.js";
import { createMetrics } from "../../src/metrics.js";
import { buildRegistry } from "../../src/rules/index.js";
import type { PodSpecTarget, RawFinding, Rule } from "../../src/rules/types.js";
import { review, rootPod } from "../support/reviews.js";
import { spin } from "./support.js";

function rule(id: string, check: () => RawFinding[]): Rule {
  const defined: Rule<PodSpecTarget> = {
    id,
    title: id,
    category: "security",
    defaultSeverity: "warn",
    targets: ["podSpec"],
    kinds: ["Pod"],
    description: "A rule for reliability tests.",
    remediation: "```yaml\n{}\n```",
    check,
  };
  return defined as unknown as Rule;
}

const finding = (message: string): RawFinding[] => [{ path: "spec", message, fix: "none" }];

/** A check that burns `ms` of CPU, then reports `result`. */
const spinning = (ms: number, result: RawFinding[]) => () => {
  spin(ms);
  return result;
};

function answer(rules: Rule[], config: ConfigInput, mode: "enforce" | "warn", limits?: EvaluationLimits) {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line)) });
  const metrics = createMetrics();
  const policy = compilePolicy(resolveConfig(config), buildRegistry(rules), limits);
  const parsed = parseReview(review(rootPod(), { uid: "uid-slow" }));
  if ("error" in parsed) throw new Error(parsed.error);
  const started = performance.now();
  const response = answerReview(parsed.review, mode, { policy: () => policy, metrics, log });
  return { response: response.response, lines, metrics, ms: performance.now() - started };
}

describe("a slow rule", () => {
  it("is measured, logged and counted in tollgate_rule_slow_total, and its findings still count", async () => {
    const { response, lines, metrics } = answer(
      [rule("slow-rule", spinning(30, finding("slow but done"))), rule("fast-rule", () => finding("fast"))],
      {},
      "enforce",
      { slowRuleMs: 20, budgetMs: 1_000 },
    );
    expect(response).toEqual({
      uid: "uid-slow",
      allowed: true,
      warnings: ["slow-rule: slow but done (spec)", "fast-rule: fast (spec)"],
    });
    expect((await metrics.ruleSlow.get()).values).toEqual([{ labels: { rule: "slow-rule" }, value: 1 }]);
    const line = lines.find((l) => l.msg === "rule slow");
    expect(line).toMatchObject({ uid: "uid-slow", rule: "slow-rule", kind: "Pod" });
    expect(line?.ms).toBeGreaterThanOrEqual(30);
    expect((await metrics.ruleErrors.get()).values).toEqual([]);
  });

  it("that spends the evaluation budget stops the rules after it; the answer denies in enforce mode with a warning naming it", async () => {
    let laterRan = false;
    const { response, lines, metrics, ms } = answer(
      [
        rule("first-rule", () => finding("first")),
        rule("stuck-rule", spinning(80, [])),
        rule("later-rule", () => {
          laterRan = true;
          return finding("later");
        }),
      ],
      {},
      "enforce",
      { slowRuleMs: 1_000, budgetMs: 50 },
    );
    expect(laterRan).toBe(false);
    expect(ms).toBeLessThan(500);
    const ranOut =
      "the rules ran \\d+(\\.\\d)? ms on this object, over the 50 ms budget; 1 later rule was not applied";
    expect(response.allowed).toBe(false);
    expect(response.status?.message).toMatch(
      new RegExp(
        `^tollgate: could not finish judging the object at rule stuck-rule: ${ranOut}; it is denied until tollgate can judge it in full$`,
      ),
    );
    expect(response.warnings).toHaveLength(2);
    expect(response.warnings?.[0]).toBe("first-rule: first (spec)");
    expect(response.warnings?.[1]).toMatch(
      new RegExp(`^tollgate: judging did not finish at rule stuck-rule: ${ranOut}; tell your platform team$`),
    );
    expect((await metrics.ruleSlow.get()).values).toEqual([{ labels: { rule: "stuck-rule" }, value: 1 }]);
    expect((await metrics.ruleErrors.get()).values).toEqual([]);
    const failed = lines.find((l) => l.msg === "rule failed");
    expect(failed).toMatchObject({ uid: "uid-slow", rule: "stuck-rule" });
    expect(failed?.err).toMatch(new RegExp(`^${ranOut}$`));
  });

  it("that spends the budget denies in enforce mode as not judged, not as failed, when onRuleError is deny", () => {
    const { response } = answer(
      [rule("stuck-rule", spinning(60, [])), rule("later-rule", () => finding("later"))],
      { onRuleError: "deny" },
      "enforce",
      { slowRuleMs: 1_000, budgetMs: 40 },
    );
    expect(response.allowed).toBe(false);
    expect(response.status?.message).toMatch(
      /^tollgate: could not finish judging the object at rule stuck-rule: the rules ran \d+(\.\d)? ms on this object, over the 40 ms budget; 1 later rule was not applied; it is denied until tollgate can judge it in full$/,
    );
  });

  it("has defaults that leave the apiserver's 3 s call timeout ample room", () => {
    expect(DEFAULT_LIMITS).toEqual({ slowRuleMs: 50, budgetMs: 500 });
  });
});

describe("a rule that throws", () => {
  it("does not stop the rules after it, and is counted apart from slow rules", async () => {
    const { response, metrics } = answer(
      [
        rule("throwing-rule", () => {
          throw new RangeError("Maximum call stack size exceeded");
        }),
        rule("after-rule", () => finding("still ran")),
      ],
      {},
      "warn",
    );
    expect(response).toEqual({
      uid: "uid-slow",
      allowed: true,
      warnings: [
        "after-rule: still ran (spec)",
        "throwing-rule: the rule failed on this object and was not applied; tell your platform team",
      ],
    });
    expect((await metrics.ruleErrors.get()).values).toEqual([
      { labels: { rule: "throwing-rule" }, value: 1 },
    ]);
    expect((await metrics.ruleSlow.get()).values).toEqual([]);
  });
});
