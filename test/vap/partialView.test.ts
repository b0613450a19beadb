/**
 * The partial CEL view (src/cel/reads.ts) against converting everything: every policy of the
 * repository (test fixtures, docs, the benchmark's, the policies written inline in tests) judges
 * every object of the fixtures, and mutated copies of them, with the request converted whole, with
 * only the policy's own reads, with the reads of its whole set, and through the PolicySetJudge the
 * webhook uses (one activation and one resource match per request for the set); the verdicts must
 * be the same, message for message. The CEL corpus's expressions are held to the same on their objects.
 */
import { describe, expect, it } from "vitest";
import { compileExpression, ExpressionError } from "../../src/cel/compile.js";
import { celViewOf, unionOf, WHOLE_READS } from "../../src/cel/reads.js";
import { toCel } from "../../src/cel/values.js";
import { vapRequestOf } from "../../src/engine/prepare.js";
import { refOf } from "../../src/objects/object.js";
import {
  PolicySetJudge,
  type VapBinding,
  type VapOutcome,
  type VapRequest,
  type VapVerdict,
} from "../../src/vap/evaluate.js";
import type { PolicySet } from "../../src/vap/load.js";
import {
  celCorpusCases,
  fixtureObjects,
  mutated,
  NAMESPACES,
  policyTexts,
  randomFrom,
  textOf,
  verdictsOf,
} from "./repository.js";
import { policySetOf } from "./support.js";

/**
 * verdictsOf, through the judge the webhook uses: one conversion and one activation for the set;
 * and each binding's outcomes alone, as `outcomesBy` gives them.
 */
function judgedBy(
  judge: PolicySetJudge,
  set: PolicySet,
  request: VapRequest,
): { text: string; outcomes: string } {
  const verdicts = new Map<VapBinding, VapVerdict>();
  for (const index of set.policies.keys()) {
    for (const verdict of judge.verdicts(index, request)) verdicts.set(verdict.binding, verdict);
  }
  return {
    text: set.bindings.map((binding) => textOf(binding.policyName, verdicts.get(binding))).join("\n"),
    outcomes: outcomesText(set, (binding) => verdicts.get(binding)?.outcomes),
  };
}

const outcomesText = (
  set: PolicySet,
  outcomesOf: (binding: VapBinding) => VapOutcome[] | undefined,
): string =>
  set.bindings
    .map((binding) => `${binding.policyName}: ${JSON.stringify(outcomesOf(binding) ?? [])}`)
    .join("\n");

/**
 * Each binding's outcomes through the judge's `outcomes`, the engine's path (one scratch verdict
 * for every binding, no verdict kept), as text.
 */
function outcomesBy(judge: PolicySetJudge, set: PolicySet, request: VapRequest): string {
  const made = new Map<VapBinding, VapOutcome[]>();
  for (const index of set.policies.keys()) {
    for (const { binding, outcome } of judge.outcomes(index, request, (_, binding, outcome) => ({
      binding,
      outcome,
    }))) {
      made.set(binding, [...(made.get(binding) ?? []), outcome]);
    }
  }
  return outcomesText(set, (binding) => made.get(binding));
}

describe("the partial view against converting everything", () => {
  const sets = policyTexts()
    .map(({ from, yaml }) => ({ from, set: policySetOf(yaml).set }))
    .filter(({ set }) => set.policies.length > 0);
  const objects = fixtureObjects();
  const random = randomFrom(20);
  const pool = [...objects, ...objects.map((object) => mutated(object, random))];

  it("has the repository's policies and objects to work on", () => {
    expect(sets.reduce((sum, { set }) => sum + set.policies.length, 0)).toBeGreaterThanOrEqual(60);
    expect(objects.length).toBeGreaterThanOrEqual(300);
  });

  it("gives every policy the same verdicts on every object, CREATE and UPDATE", () => {
    const judges = new Map(sets.map(({ set }) => [set, new PolicySetJudge(set)]));
    const engineJudges = new Map(sets.map(({ set }) => [set, new PolicySetJudge(set)]));
    const together = new Map(
      sets.map(({ set }) => [set, unionOf(set.policies.map((policy) => policy.reads))]),
    );
    let compared = 0;
    const differences: string[] = [];
    for (const [index, object] of pool.entries()) {
      const namespaceObject = NAMESPACES[index % NAMESPACES.length] ?? null;
      const ref = refOf(object, "vap-prod");
      const older = pool[(index * 7919) % pool.length]!;
      const requests = [
        { object, operation: "CREATE" as const },
        { object, oldObject: older.kind === object.kind ? older : object, operation: "UPDATE" as const },
      ].map((input) =>
        vapRequestOf(
          {
            ...input,
            mode: "enforce",
            source: "admission",
            namespaceObject,
            userInfo: { username: "alice", groups: ["dev"] },
          },
          ref,
        ),
      );
      for (const { from, set } of sets) {
        for (const request of requests) {
          const whole = verdictsOf(set, request, () => WHOLE_READS);
          const judged = judgedBy(judges.get(set)!, set, request);
          if (whole.includes(": threw ") || judged.text !== whole) {
            differences.push(`${from}, object ${index}: ${whole}\n--- judge:\n${judged.text}`);
          }
          // The judge's verdicts are the whole conversion's (above): the engine's path must give their outcomes.
          const engine = outcomesBy(engineJudges.get(set)!, set, request);
          if (engine !== judged.outcomes) {
            differences.push(
              `${from}, object ${index}: ${judged.outcomes}\n--- the engine's path:\n${engine}`,
            );
          }
          // Whether a policy applies does not depend on the view.
          if (!whole.includes(": [")) continue;
          compared++;
          const own = verdictsOf(set, request, (policy) => policy.reads);
          const shared = verdictsOf(set, request, () => together.get(set)!);
          if (own !== whole || shared !== whole) {
            differences.push(
              `${from}, object ${index} (${object.kind}) ${request.attributes.operation}:\n${whole}\n--- own reads:\n${own}\n--- set reads:\n${shared}`,
            );
          }
        }
      }
    }
    expect(differences.slice(0, 3)).toEqual([]);
    expect(compared).toBeGreaterThan(10_000);
  }, 120_000);
});

describe("the CEL corpus's expressions on their objects", () => {
  it("give the same value or error with the partial view", () => {
    let compared = 0;
    const differences: string[] = [];
    for (const { expression, rendered, object } of celCorpusCases()) {
      let compiled;
      try {
        compiled = compileExpression(rendered, { params: false, variables: new Set() });
      } catch (error) {
        if (error instanceof ExpressionError) continue;
        throw error;
      }
      const answer = (view: unknown) => {
        try {
          return String(
            compiled.evaluate({
              object: view,
              oldObject: null,
              request: {},
              namespaceObject: null,
              variables: {},
            }),
          );
        } catch (error) {
          return `error: ${(error as Error).message.split("\n")[0]}`;
        }
      };
      const whole = answer(toCel(object));
      const partial = answer(compiled.reads.object ? celViewOf(object, compiled.reads.object) : null);
      compared++;
      if (partial !== whole) differences.push(`${expression}: ${whole} / ${partial}`);
    }
    expect(differences).toEqual([]);
    expect(compared).toBeGreaterThan(1000);
  });
});
