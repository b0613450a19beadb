/**
 * An expression's closures (src/cel/closures.ts) against cel-js evaluating the same checked tree:
 * wherever the closures give a value, it must be cel-js's value at cel-js's cost, and where cel-js
 * fails or passes its cost limit they must give up (the judge then asks cel-js). Over every
 * expression of the repository's policies on every fixture object and a mutated copy of each, and
 * over the CEL corpus on its objects.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { describe, expect, it } from "vitest";
import { type CompiledExpression, compileExpression, ExpressionError } from "../../src/cel/compile.js";
import { type Metered, metered, PER_CALL_LIMIT } from "../../src/cel/cost.js";
import { toCel } from "../../src/cel/values.js";
import type { CompiledVap } from "../../src/vap/compile.js";
import {
  celCorpusCases,
  fixtureObjects,
  mutated,
  NAMESPACES,
  policyTexts,
  randomFrom,
  ROOT,
} from "../vap/repository.js";
import { policySetOf, requestFor } from "../vap/support.js";

function expressionsOf(policy: CompiledVap): CompiledExpression[] {
  return [
    ...policy.matchConditions.map((condition) => condition.expression),
    ...policy.variables.map((variable) => variable.expression),
    ...policy.validations.flatMap((validation) =>
      validation.messageExpression === undefined
        ? [validation.expression]
        : [validation.expression, validation.messageExpression],
    ),
    ...policy.auditAnnotations.map((annotation) => annotation.valueExpression),
  ];
}

interface Tally {
  /** Evaluations where the closures gave a value. */
  given: number;
  /** Evaluations cel-js completed and the closures gave up on. */
  givenUp: number;
  differences: string[];
}

const text = (outcome: Metered): string =>
  outcome.ok
    ? `${String(outcome.value)} (cost ${outcome.cost})`
    : `error ${String(outcome.error).split("\n")[0]} (cost ${outcome.cost})`;

/** One expression on one activation, both ways, and at a limit one below cel-js's cost. */
function compare(expression: CompiledExpression, activation: object, tally: Tally): void {
  const closures = expression.closures;
  if (closures === undefined) return;
  const reference = metered(PER_CALL_LIMIT, expression.evaluate, activation);
  const fast = metered(PER_CALL_LIMIT, closures, activation);
  if (!fast.ok) {
    if (reference.ok) tally.givenUp++;
    return;
  }
  tally.given++;
  if (!reference.ok || !isDeepStrictEqual(fast.value, reference.value) || fast.cost !== reference.cost) {
    tally.differences.push(`${expression.source}: cel-js ${text(reference)}, closures ${text(fast)}`);
    return;
  }
  if (reference.cost > 0 && metered(reference.cost - 1, closures, activation).ok) {
    tally.differences.push(`${expression.source}: a value at limit ${reference.cost - 1}`);
  }
}

describe("an expression's closures against cel-js", () => {
  it("give cel-js's value and cost on the repository's policies and fixture objects, or give up", () => {
    const expressions = policyTexts().flatMap(({ yaml }) =>
      policySetOf(yaml).set.policies.flatMap(expressionsOf),
    );
    const objects = fixtureObjects();
    const random = randomFrom(7);
    const pool = [...objects, ...objects.map((object) => mutated(object, random))];
    const tally: Tally = { given: 0, givenUp: 0, differences: [] };
    for (const [index, object] of pool.entries()) {
      const older = pool[(index * 7919) % pool.length]!;
      const namespace = NAMESPACES[index % NAMESPACES.length] ?? null;
      const update = index % 2 === 1;
      const json = object as unknown as Record<string, unknown>;
      const request = requestFor(
        json,
        update ? { oldObject: older as unknown as Record<string, unknown> } : {},
      ).request;
      const activation = {
        object: toCel(object),
        oldObject: update ? toCel(older) : null,
        request: toCel(request),
        params: null,
        namespaceObject: toCel(namespace),
        variables: {},
      };
      for (const expression of expressions) compare(expression, activation, tally);
    }
    const covered = expressions.filter((e) => e.closures !== undefined).length;
    console.log(
      `closures: ${covered}/${expressions.length} policy expressions; ${tally.given} values given, ${tally.givenUp} given up to cel-js`,
    );
    expect(tally.differences.slice(0, 5)).toEqual([]);
    expect(covered).toBeGreaterThan(130);
    // Most correct evaluations are the closures' own; they give up on few.
    expect(tally.given).toBeGreaterThan(60_000);
    expect(tally.givenUp).toBeLessThan(tally.given / 2);
  }, 120_000);

  it("give cel-js's value and cost on the CEL corpus, or give up", () => {
    const tally: Tally = { given: 0, givenUp: 0, differences: [] };
    let compiledCount = 0;
    for (const { expression, rendered, object } of celCorpusCases()) {
      for (const source of [expression, rendered]) {
        let compiled: CompiledExpression;
        try {
          compiled = compileExpression(source, { params: false, variables: new Set() });
        } catch (error) {
          if (error instanceof ExpressionError) continue;
          throw error;
        }
        if (compiled.closures !== undefined) compiledCount++;
        const activation = {
          object: toCel(object),
          oldObject: null,
          request: {},
          namespaceObject: null,
          variables: {},
        };
        compare(compiled, activation, tally);
      }
    }
    console.log(
      `closures: ${compiledCount} corpus expressions; ${tally.given} values given, ${tally.givenUp} given up to cel-js`,
    );
    expect(tally.differences.slice(0, 5)).toEqual([]);
    expect(compiledCount).toBeGreaterThan(900);
    expect(tally.given).toBeGreaterThan(800);
  });

  it("cover every expression of the benchmark's policies, and give their values on its Pod", () => {
    const folder = join(ROOT, "scripts", "bench", "vaps");
    const yaml = readdirSync(folder)
      .filter((file) => file.endsWith(".yaml"))
      .map((file) => readFileSync(join(folder, file), "utf8"))
      .join("\n---\n");
    const expressions = policySetOf(yaml).set.policies.flatMap(expressionsOf);
    const review = JSON.parse(
      readFileSync(join(ROOT, "test", "fixtures", "admission", "pod-create.json"), "utf8"),
    ) as { request: { object: Record<string, unknown> } };
    const activation = {
      object: toCel(review.request.object),
      oldObject: null,
      request: toCel(requestFor(review.request.object).request),
      params: null,
      namespaceObject: null,
      variables: {},
    };
    expect(expressions).toHaveLength(20);
    const tally: Tally = { given: 0, givenUp: 0, differences: [] };
    for (const expression of expressions) compare(expression, activation, tally);
    expect(tally).toEqual({ given: 20, givenUp: 0, differences: [] });
  });
});
