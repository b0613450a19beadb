import { readFileSync } from "node:fs";
import { YAMLException } from "js-yaml";
import { describe, expect, test } from "vitest";
import { type LoadedInput, parseManifests } from "../../src/input/documents.js";
import { parseYamlDocuments } from "../../src/input/positions.js";
import { MANIFEST_SCHEMA } from "../../src/input/schemas.js";

/** kubectl's own reading of each scalar, written by scripts/kubectl-yaml (sigs.k8s.io/yaml over go-yaml v2). */
const KUBECTL: { in: string; json?: unknown; error?: string }[] = JSON.parse(
  readFileSync("test/fixtures/yaml11/kubectl-scalars.json", "utf8"),
);

function valueOf(text: string): unknown {
  return (parseYamlDocuments(text, 1, MANIFEST_SCHEMA)[0]!.value as { v: unknown }).v;
}

function load(text: string): LoadedInput<unknown> {
  const into: LoadedInput<unknown> = { objects: [], errors: [], files: 1, documents: 0 };
  parseManifests(text, "pod.yaml", into, (source) => source.object);
  return into;
}

describe("numbers are read as kubectl reads them (go-yaml v2's resolve.go)", () => {
  test("the fixture covers the forms the issue names", () => {
    const ins = new Set(KUBECTL.map((row) => row.in));
    for (const form of [
      "0_0",
      "8_0",
      "0x50",
      "0o120",
      "0120",
      "0b1",
      "-0b1",
      "1:30",
      "+1",
      "-0",
      "1e8",
      ".5",
    ]) {
      expect(ins).toContain(form);
    }
    expect(KUBECTL.length).toBeGreaterThan(1500);
  });

  test.each(KUBECTL.filter((row) => row.json !== undefined).map((row) => [row.in, row.json] as const))(
    "v: %s is %j, as kubectl sends it",
    (scalar, json) => {
      // toBe is Object.is: -0.0 is -0 there (JSON "-0") and -0 is 0.
      expect(valueOf(`v: ${scalar}\n`)).toBe(json);
    },
  );

  test.each(KUBECTL.filter((row) => row.error?.startsWith("json: unsupported value")).map((row) => row.in))(
    "v: %s has no JSON form: kubectl refuses the document, and check reports an input error",
    (scalar) => {
      const loaded = load(`apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  v: ${scalar}\n`);
      // Named in one spelling each, as the error names the value, not the text.
      const named = /nan/i.test(scalar) ? ".nan" : scalar.startsWith("-") ? "-.inf" : ".inf";
      expect(loaded.objects).toEqual([]);
      expect(loaded.errors).toEqual([
        {
          file: "pod.yaml",
          line: 6,
          message: `${named} is not a number JSON can carry, so kubectl cannot send this document (json: unsupported value)`,
        },
      ]);
    },
  );

  test("a syntax error there is one here", () => {
    const syntax = KUBECTL.filter((row) => row.error !== undefined && !row.error.startsWith("json:"));
    expect(syntax.map((row) => row.in)).toEqual(["-"]);
    expect(() => valueOf("v: -\n")).toThrow(YAMLException);
  });

  test("runAsUser: 0_0 is root and hostPort: 8_0 is port 80; quoted they stay strings", () => {
    expect(valueOf("v: [0_0, 8_0, 0644, 0x50, 0b1010000, -0b1, '0_0', \"8_0\"]\n")).toEqual([
      0,
      80,
      420,
      80,
      80,
      -1,
      "0_0",
      "8_0",
    ]);
  });

  test("explicit tags: !!int and !!float take the same forms, and refuse what go-yaml refuses", () => {
    expect(valueOf("v: [!!int '0_0', !!float 1, !!float '0x10']\n")).toEqual([0, 1, 16]);
    expect(() => valueOf("v: !!int 1.5\n")).toThrow(/cannot resolve a node with !<tag:yaml.org,2002:int>/);
    expect(() => valueOf("v: !!float 18446744073709551615\n")).toThrow(
      /cannot resolve a node with !<tag:yaml.org,2002:float>/,
    );
  });

  test("keys are named as JSON names them", () => {
    expect(parseYamlDocuments("0x10: a\n0_1: b\n", 1, MANIFEST_SCHEMA)[0]!.value).toEqual({
      16: "a",
      1: "b",
    });
  });
});
