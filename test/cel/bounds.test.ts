/**
 * Where tollgate's CEL libraries stop short of the apiserver on purpose: computations the apiserver
 * would carry on with for minutes (docs/policies-cel.md). The corpus cannot show these, since the
 * recorder would wait on the apiserver.
 */
import { describe, expect, it } from "vitest";
import { compileExpression } from "../../src/cel/compile.js";

function evaluate(source: string): unknown {
  return compileExpression(source, { params: false, variables: new Set() }).evaluate({});
}

describe("quantities with enormous scales", () => {
  it.each([
    "quantity('1e2000000000').add(quantity('1m')).isInteger()",
    "quantity('123456789012345678901e2000000000').isInteger()",
  ])("%s is an error, at once", (source) => {
    const started = Date.now();
    expect(() => evaluate(source)).toThrow("quantity out of range: a scale of 10^");
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("compare by magnitude without scaling", () => {
    expect(evaluate("quantity('1e2000000000').compareTo(quantity('1m'))")).toBe(1n);
    expect(evaluate("quantity('1e-2000000000').isGreaterThan(quantity('0'))")).toBe(true);
  });
});

describe("regular expressions on a crafted text", () => {
  it("take time linear in the text: nested quantifiers cannot hold the webhook", () => {
    // A backtracking engine takes about 2^n steps here: seconds at n = 28, forever at 30 000.
    const object = { text: `${"a".repeat(30_000)}b` };
    const run = (source: string) =>
      compileExpression(source, { params: false, variables: new Set() }).evaluate({ object });
    const started = Date.now();
    expect(run("object.text.matches('^(a+)+$')")).toBe(false);
    expect(run("object.text.find('^(a|aa)+$')")).toBe("");
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
