/**
 * quantity() remembers the texts it parsed (src/cel/library/quantity.ts): a text gives the same
 * answers however often it is parsed and whatever was parsed between, and a text that is not a
 * quantity fails every time, not only the first. The values themselves are held to the apiserver
 * by the CEL corpus (library.test.ts).
 */
import { describe, expect, it } from "vitest";
import { compileExpression } from "../../src/cel/compile.js";

function evaluate(source: string, object: unknown = {}): unknown {
  return compileExpression(source, { params: false, variables: new Set() }).evaluate({ object });
}

describe("quantity() on a text parsed before", () => {
  it("gives the same value again, also after more texts than it keeps", () => {
    const source = "quantity(object.q).compareTo(quantity('4Gi'))";
    expect(evaluate(source, { q: "512Mi" })).toBe(-1n);
    for (let i = 0; i < 1_500; i++) expect(evaluate(source, { q: `${i}Ki` })).toBe(-1n);
    expect(evaluate(source, { q: "5Gi" })).toBe(1n);
    expect(evaluate(source, { q: "512Mi" })).toBe(-1n);
    expect(evaluate("quantity('1000m').isInteger()")).toBe(false);
    expect(evaluate("quantity('1000m').isInteger()")).toBe(false);
  });

  it("fails each time on a text that is not a quantity", () => {
    for (let i = 0; i < 2; i++) {
      expect(() => evaluate("quantity('1Gb')")).toThrow("quantities must match the regular expression");
      expect(evaluate("isQuantity('1Gb')")).toBe(false);
    }
  });

  it("keeps a sum apart from a parsed quantity of the same value", () => {
    expect(evaluate("quantity('1Gi').add(quantity('1Gi')) == quantity('2Gi')")).toBe(true);
    expect(() => evaluate("quantity('2Gi') == quantity('1Gi').add(quantity('1Gi'))")).toThrow(
      "no such overload",
    );
    expect(evaluate("quantity('2Gi') == quantity('2Gi')")).toBe(true);
  });
});
