/**
 * The runtime cost of policy expressions: what one evaluation costs, and where the apiserver's
 * per-expression limit stops it (src/cel/cost.ts). The apiserver side of the same limits is in the
 * differential corpus (test/fixtures/vap-corpus/cost-*).
 */
import { describe, expect, it } from "vitest";
import { compileExpression } from "../../src/cel/compile.js";
import { CostLimitExceeded, metered, PER_CALL_LIMIT } from "../../src/cel/cost.js";
import { toCel } from "../../src/cel/values.js";

function costOf(source: string, object: unknown, limit = PER_CALL_LIMIT) {
  const compiled = compileExpression(source, { params: false, variables: new Set() });
  return metered(limit, () => compiled.evaluate({ object: toCel(object) }));
}

const items = (n: number) => ({ items: Array.from({ length: n }, (_, i) => i) });

describe("the cost of one evaluation", () => {
  it("is the number of nodes of an expression without loops, literals free", () => {
    // `>`, `size()`, `.items`, `object`, and a tenth of the 3 elements `size()` is given, rounded up.
    expect(costOf("object.items.size() > 2", items(3))).toEqual({ ok: true, value: true, cost: 5 });
    expect(costOf("1 + 2 == 3", {})).toEqual({ ok: true, value: true, cost: 2 });
  });

  it("grows with the elements a comprehension visits, the same for each", () => {
    const cost = (n: number) => costOf("object.items.all(x, x >= 0)", items(n)).cost;
    const perTen = cost(10) - cost(0);
    expect(perTen).toBeGreaterThan(10);
    expect(cost(1000) - cost(0)).toBe(100 * perTen);
  });

  it("charges a function a tenth per character of the string it walks", () => {
    const short = costOf("object.s.contains('z')", { s: "a".repeat(10) });
    const long = costOf("object.s.contains('z')", { s: "a".repeat(10_010) });
    expect(short.ok && long.ok).toBe(true);
    expect(long.cost - short.cost).toBe(1000);
  });
});

describe("the per-expression limit", () => {
  it("stops a loop inside a loop over the requester's list with cel-go's words", () => {
    const started = Date.now();
    const result = costOf("object.items.all(a, object.items.all(b, a == b || a != b))", items(2000));
    expect(result.ok).toBe(false);
    expect(result.ok === false && result.error).toBeInstanceOf(CostLimitExceeded);
    expect(result.ok === false && (result.error as Error).message).toBe(
      "operation cancelled: actual cost limit exceeded",
    );
    expect(result.cost).toBeGreaterThan(PER_CALL_LIMIT);
    // 4 million iterations would take seconds; the limit stops it after a quarter of a million.
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("is not undone by an error-absorbing operator: `cancelled || true` is still cancelled", () => {
    const result = costOf("object.items.all(a, object.items.all(b, a == b || a != b)) || true", items(2000));
    expect(result.ok).toBe(false);
    expect(result.ok === false && result.error).toBeInstanceOf(CostLimitExceeded);
  });

  it("stops one function over a string longer than the limit allows", () => {
    const result = costOf("object.s.contains('z')", { s: "a".repeat(10 * PER_CALL_LIMIT + 100) });
    expect(result.ok === false && result.error).toBeInstanceOf(CostLimitExceeded);
  });

  it("lets the same expression through on a small list", () => {
    expect(costOf("object.items.all(a, object.items.all(b, a == b || a != b))", items(20)).ok).toBe(true);
  });

  it.each([
    ["object.items.map(x, x + 1).size() > 0", [1, 2, 3, 4, 6, 6, 7, 10, 10, 10, 13, 13, 13, 16, 16, 16, 17]],
    ["!object.items.all(x, x >= 0)", [1, 2, 3, 5, 5, 14, 14, 14, 14, 14, 14, 14, 14, 14]],
    ["object.items.exists(x, x == 2) ? 1 : 2", [1, 2, 3, 5, 5, 14, 14, 14, 14, 14, 14]],
  ])("%s, cancelled at each limit, costs what charging node by node spends", (source, spent) => {
    // The figures of charging every node as it is entered (before nodes entered one after another
    // were charged together): a limit that stops the evaluation stops the count at the same node.
    spent.forEach((cost, limit) => {
      expect(costOf(source, { items: [1, 2, 3] }, limit)).toMatchObject({ ok: false, cost });
    });
    expect(costOf(source, { items: [1, 2, 3] }, spent.length).ok).toBe(true);
  });

  it("applies the limit it is given", () => {
    expect(costOf("object.items.all(x, x >= 0)", items(100), 50).ok).toBe(false);
    expect(costOf("object.items.all(x, x >= 0)", items(100), 5000).ok).toBe(true);
  });
});
