import { describe, expect, test } from "vitest";
import { lineOfPath, parseYamlDocuments } from "../../src/input/positions.js";
import { CONFIG_SCHEMA, MANIFEST_SCHEMA } from "../../src/input/schemas.js";

function valueOf(text: string, schema = MANIFEST_SCHEMA): unknown {
  return (parseYamlDocuments(text, 1, schema)[0]!.value as { v: unknown }).v;
}

// go-yaml v2's resolve.go: the scalars kubectl turns into booleans.
const TRUE = ["y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE"];
const FALSE = ["n", "N", "no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE"];

describe("manifests are read as kubectl reads them (go-yaml v2, YAML 1.1)", () => {
  test.each(TRUE)("plain %s is true", (word) => {
    expect(valueOf(`v: ${word}`)).toBe(true);
  });

  test.each(FALSE)("plain %s is false", (word) => {
    expect(valueOf(`v: ${word}`)).toBe(false);
  });

  test.each([...TRUE, ...FALSE].flatMap((word) => [`"${word}"`, `'${word}'`]))(
    "quoted %s stays a string",
    (quoted) => {
      expect(valueOf(`v: ${quoted}`)).toBe(quoted.slice(1, -1));
    },
  );

  test.each(["yES", "oN", "oFF", "tRUE", "nO", "yeah", "o", "t", "f", "ye", "onn", "yes please"])(
    "%s, which go-yaml does not list, stays a string",
    (word) => {
      expect(valueOf(`v: ${word}`)).toBe(word);
    },
  );

  test("an explicit !!bool tag takes the YAML 1.1 words too, and an empty one is an error", () => {
    expect(valueOf("v: !!bool yes")).toBe(true);
    expect(valueOf("v: !!bool Off")).toBe(false);
    expect(() => valueOf("v: !!bool")).toThrow(
      /cannot resolve a node with !<tag:yaml.org,2002:bool> explicit tag/,
    );
  });

  test("in flow collections and sequences as well", () => {
    expect(valueOf("v: {a: on, b: [no, 'no', Y]}")).toEqual({ a: true, b: [false, "no", true] });
  });

  test("dates stay strings, as go-yaml v2 leaves them in an untyped value", () => {
    expect(valueOf("v: 2027-01-31")).toBe("2027-01-31");
    expect(valueOf("v: 2001-12-14t21:59:43.10-05:00")).toBe("2001-12-14t21:59:43.10-05:00");
  });

  test("a boolean key is named as JSON names it, and keeps its line", () => {
    const [doc] = parseYamlDocuments("data:\n  a: 1\n  on: 2\n", 1, MANIFEST_SCHEMA);
    expect(doc!.value).toEqual({ data: { a: 1, true: 2 } });
    expect(lineOfPath(doc!.lines, doc!.value, "data.true", 0)).toBe(3);
  });

  test("null, numbers and merge keys read as before", () => {
    expect(valueOf("v: [~, null, 0, 0x1F, 0o17, 1.5, .inf]")).toEqual([null, null, 0, 31, 15, 1.5, Infinity]);
    expect(valueOf("base: &b {x: 1}\nv: {<<: *b, z: 2}")).toEqual({ x: 1, z: 2 });
  });
});

describe("the config file is read as YAML 1.2 (kubectl never parses it)", () => {
  test.each([
    ["off", "off"],
    ["yes", "yes"],
    ["N", "N"],
    ["true", true],
    ["False", false],
    ["2027-01-31", "2027-01-31"],
  ])("%s is %j", (text, expected) => {
    expect(valueOf(`v: ${text}`, CONFIG_SCHEMA)).toBe(expected);
  });

  test("merge keys still apply", () => {
    expect(valueOf("base: &b {x: 1}\nv: {<<: *b, y: 2}", CONFIG_SCHEMA)).toEqual({ x: 1, y: 2 });
  });
});
