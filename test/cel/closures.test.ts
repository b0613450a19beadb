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
import { vapRequestOf } from "../../src/engine/prepare.js";
import { refOf } from "../../src/objects/object.js";
import type { CompiledVap } from "../../src/vap/compile.js";
import type { PolicySet } from "../../src/vap/load.js";
import {
  celCorpusCases,
  fixtureObjects,
  mutated,
  NAMESPACES,
  policyTexts,
  randomFrom,
  ROOT,
  verdictsOf,
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

/** The set with every expression evaluated by cel-js alone. */
function withoutClosures(set: PolicySet): PolicySet {
  for (const policy of set.policies) {
    for (const expression of expressionsOf(policy)) Object.assign(expression, { closures: undefined });
  }
  return set;
}

describe("an expression's closures against cel-js", () => {
  it("leave every verdict of the repository's policies as cel-js alone gives it, variables included", () => {
    const sets = policyTexts()
      .map(({ from, yaml }) => ({
        from,
        fast: policySetOf(yaml).set,
        plain: withoutClosures(policySetOf(yaml).set),
      }))
      .filter(({ fast }) => fast.policies.length > 0);
    const readingVariables = sets
      .flatMap(({ fast }) => fast.policies.flatMap(expressionsOf))
      .filter((e) => e.closures !== undefined && /\bvariables\./.test(e.source));
    expect(readingVariables.length).toBeGreaterThan(20);
    const objects = fixtureObjects();
    const random = randomFrom(11);
    const pool = [...objects, ...objects.map((object) => mutated(object, random))];
    let compared = 0;
    const differences: string[] = [];
    for (const [index, object] of pool.entries()) {
      const older = pool[(index * 7919) % pool.length]!;
      const update = index % 2 === 1 && older.kind === object.kind;
      const request = vapRequestOf(
        {
          object,
          ...(update ? { oldObject: older, operation: "UPDATE" as const } : { operation: "CREATE" as const }),
          mode: "enforce",
          source: "admission",
          namespaceObject: NAMESPACES[index % NAMESPACES.length] ?? null,
          userInfo: { username: "alice", groups: ["dev"] },
        },
        refOf(object, "vap-prod"),
      );
      for (const { from, fast, plain } of sets) {
        const expected = verdictsOf(plain, request, (policy) => policy.reads);
        if (expected.includes(": [")) compared++;
        const got = verdictsOf(fast, request, (policy) => policy.reads);
        if (got !== expected)
          differences.push(`${from}, object ${index}:\n${expected}\n--- closures:\n${got}`);
      }
    }
    expect(differences.slice(0, 3)).toEqual([]);
    expect(compared).toBeGreaterThan(1_500);
  }, 120_000);

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
      `closures: ${covered}/${expressions.length} policy expressions on ${pool.length} objects; ${tally.given} values given, ${tally.givenUp} given up to cel-js`,
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

describe("an expression's text in its compiled function", () => {
  // Strings and keys that would end a literal, a comment or the function if they were pasted into
  // its source: the function must give cel-js's value, and nothing else runs.
  const texts = [
    `"); throw new Error("escaped"); ("`,
    `'); globalThis.escaped = 1; ('`,
    "\\",
    "*/ }; globalThis.escaped = 1; /*",
    "${globalThis.escaped = 1}",
    "\u2028\u2029",
    "\u0000</script>",
  ];
  const celString = (text: string): string =>
    `"${[...text].map((c) => `\\u${c.codePointAt(0)!.toString(16).padStart(4, "0")}`).join("")}"`;
  const scope = { params: false, variables: new Set<string>() };

  it.each(texts)("gives cel-js's value with %j as a string and as a key", (text) => {
    const object = toCel({ metadata: { name: text, labels: { [text]: "yes" } } });
    const activation = {
      object,
      oldObject: null,
      request: null,
      params: null,
      namespaceObject: null,
      variables: {},
    };
    for (const source of [
      `object.metadata.name == ${celString(text)}`,
      `${celString(text)} in object.metadata.labels`,
      `object.metadata.labels[${celString(text)}] == "yes"`,
      `object.metadata.name.startsWith(${celString(text)})`,
      `${celString(text)} + object.metadata.name`,
    ]) {
      const expression = compileExpression(source, scope);
      expect(expression.closures, source).toBeDefined();
      const reference = metered(PER_CALL_LIMIT, expression.evaluate, activation);
      const fast = metered(PER_CALL_LIMIT, expression.closures!, activation);
      expect(reference.ok, source).toBe(true);
      expect(fast, source).toEqual(reference);
    }
    expect((globalThis as { escaped?: unknown }).escaped).toBeUndefined();
  });
});

describe("a variable computed by closures that then give up", () => {
  // `variables.v` walks 200,000 elements (600,005 of cost); the validation reads it, then
  // fails in the closures at `object.spec.missing` (an error `||` absorbs in cel-js) and walks the
  // list again: 1.2 million in all, past the per-call limit of 1,000,000, as cel-js alone counts it.
  const yaml = `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: { name: carried }
spec:
  matchConstraints:
    resourceRules:
      - { apiGroups: ["apps"], apiVersions: [v1], operations: [CREATE], resources: [deployments] }
  variables:
    - name: v
      expression: "object.spec.items.all(x, x >= 0)"
  validations:
    - expression: "variables.v && (object.spec.missing == 1 || object.spec.items.all(x, x >= 0))"
`;
  const object = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "d", namespace: "team-a" },
    spec: { items: Array.from({ length: 200_000 }, (_, i) => i) },
  };

  it("is charged to the retry through cel-js, which passes the limit as cel-js alone does", () => {
    const request = requestFor(object);
    const fast = policySetOf(yaml).set;
    const plain = withoutClosures(policySetOf(yaml).set);
    expect(fast.policies[0]!.validations[0]!.expression.closures).toBeDefined();
    const expected = verdictsOf(plain, request, (policy) => policy.reads);
    expect(expected).toContain("actual cost limit exceeded");
    expect(verdictsOf(fast, request, (policy) => policy.reads)).toBe(expected);
  });
});
