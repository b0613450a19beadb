import { readFileSync } from "node:fs";
import { YAMLException } from "js-yaml";
import { describe, expect, test } from "vitest";
import { allowedAliasRatio, ExcessiveAliasing } from "../../src/input/aliases.js";
import { parseYamlDocuments } from "../../src/input/positions.js";
import { MANIFEST_SCHEMA } from "../../src/input/schemas.js";

interface Shape {
  name: string;
  head: string;
  unit: string;
  sep: string;
  tail: string;
  failsFrom: number;
}

/** Documents and the number of units from which kubectl refuses them, found by scripts/kubectl-yaml. */
const SHAPES: Shape[] = JSON.parse(readFileSync("test/fixtures/yaml11/kubectl-aliases.json", "utf8"));

function text(shape: Shape, units: number): string {
  return shape.head + Array<string>(units).fill(shape.unit).join(shape.sep) + shape.tail;
}

function parse(yaml: string): void {
  parseYamlDocuments(yaml, 1, MANIFEST_SCHEMA);
}

describe("aliases are bounded as go-yaml v2 bounds them (kubectl's excessive aliasing)", () => {
  test("the ratio allowed: 99 % up to 400,000 decodes, 10 % from 4,000,000, linear between", () => {
    expect(allowedAliasRatio(1000)).toBe(0.99);
    expect(allowedAliasRatio(400_000)).toBe(0.99);
    expect(allowedAliasRatio(2_200_000)).toBeCloseTo(0.545, 12);
    expect(allowedAliasRatio(4_000_000)).toBe(0.1);
    expect(allowedAliasRatio(40_000_000)).toBe(0.1);
  });

  test.each(SHAPES.map((shape) => [shape.name, shape] as const))(
    "%s: read one unit short of kubectl's bound, refused from it",
    (_name, shape) => {
      expect(() => parse(text(shape, shape.failsFrom - 1))).not.toThrow();
      expect(() => parse(text(shape, shape.failsFrom))).toThrow(ExcessiveAliasing);
    },
  );

  // e (5 nodes) + c (18,007: 3,000 aliases of e) + 16 aliases of c, with the keys, the root and the
  // document: 306,146 decodes, 303,112 of them in aliases (99.01 %, over the 99 % allowed).
  test("the error says how many nodes the aliases stood for, and on which line", () => {
    const bomb = SHAPES[0]!;
    let error: unknown;
    try {
      parse(text(bomb, bomb.failsFrom));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(YAMLException);
    expect((error as YAMLException).reason).toBe(
      'excessive aliasing: its aliases expand to 303112 of the 306146 nodes read so far; kubectl refuses it too ("document contains excessive aliasing")',
    );
    expect((error as YAMLException).mark.line).toBe(2);
  });

  test("each document has its own count, as kubectl decodes one document at a time", () => {
    const shape = SHAPES[1]!;
    const justUnder = text(shape, shape.failsFrom - 1);
    expect(() => parse(`${justUnder}---\n${justUnder}---\n${justUnder}`)).not.toThrow();
  });

  test("an anchor whose value holds an alias of itself is refused, as go-yaml refuses it", () => {
    expect(() => parse("a: &a [x, *a]\n")).toThrow("an anchor's value contains an alias of itself");
    expect(() => parse("spec: &s {containers: [*s]}\n")).toThrow(
      "an anchor's value contains an alias of itself",
    );
  });

  test("aliases in ordinary use are read as before", () => {
    const [doc] = parseYamlDocuments(
      "base: &b {cpu: 100m}\nlimits: *b\nlist: [&x 1, *x]\nmerged: {<<: *b, memory: 1Gi}\n",
      1,
      MANIFEST_SCHEMA,
    );
    expect(doc!.value).toEqual({
      base: { cpu: "100m" },
      limits: { cpu: "100m" },
      list: [1, 1],
      merged: { cpu: "100m", memory: "1Gi" },
    });
  });
});
