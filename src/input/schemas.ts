import { CORE_SCHEMA, type Schema, Type, types } from "js-yaml";
import { type Yaml11Number, yaml11Number } from "./yaml11Numbers.js";

/**
 * The plain scalars that go-yaml v2 (the YAML 1.1 parser behind kubectl's sigs.k8s.io/yaml)
 * resolves to booleans: its resolve.go table, `y`, `yes`, `on`, `true` and their `n`, `no`,
 * `off`, `false` counterparts, each in lower, capitalised and upper case (`y`/`Y`, `n`/`N`).
 */
const YAML11_BOOLEANS: ReadonlyMap<string, boolean> = new Map([
  ...["y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE"].map((s) => [s, true] as const),
  ...["n", "N", "no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE"].map(
    (s) => [s, false] as const,
  ),
]);

/** The longest of them, so that longer scalars (most of a manifest's) are passed over without a lookup. */
const LONGEST = 5;

const yaml11Bool = new Type("tag:yaml.org,2002:bool", {
  kind: "scalar",
  // `data` is null for an explicit `!!bool` without a value, which is not a boolean.
  resolve: (data: string | null) => data !== null && data.length <= LONGEST && YAML11_BOOLEANS.has(data),
  construct: (data: string) => YAML11_BOOLEANS.get(data) === true,
});

/**
 * js-yaml asks the int type, then the float type, about the same scalar: the answer is kept for
 * the second question, and for `construct` after `resolve`.
 */
let lastScalar: string | undefined;
let lastNumber: Yaml11Number | undefined;

function numberOf(data: string | null): Yaml11Number | undefined {
  if (data === null) return undefined;
  if (data !== lastScalar) {
    lastScalar = data;
    lastNumber = yaml11Number(data);
  }
  return lastNumber;
}

const yaml11Int = new Type("tag:yaml.org,2002:int", {
  kind: "scalar",
  resolve: (data: string | null) => numberOf(data)?.int === true,
  construct: (data: string) => numberOf(data)!.value,
});

const yaml11Float = new Type("tag:yaml.org,2002:float", {
  kind: "scalar",
  // An explicit `!!float 1` is 1.0 in go-yaml too; an unsigned 64-bit integer is refused there.
  resolve: (data: string | null) => {
    const number = numberOf(data);
    return number !== undefined && number.unsigned !== true;
  },
  construct: (data: string) => numberOf(data)!.value,
});

/**
 * Manifests, read as kubectl reads them before it sends JSON to the apiserver (go-yaml v2 through
 * sigs.k8s.io/yaml), so that `tollgate check` judges the object the webhook will see:
 * - YAML 1.1 booleans: `runAsNonRoot: yes` is `true`, `allowPrivilegeEscalation: off` is `false`;
 *   quoted (`"yes"`) they stay strings, as there.
 * - YAML 1.1 numbers, as go-yaml v2 resolves them (yaml11Numbers.ts): `runAsUser: 0_0` is 0,
 *   `hostPort: 8_0` is 80, `0644` is 420, `0b1`, `0x50`, `-0x1`, `08` (a float, 8). Quoted they
 *   stay strings. No base 60: `1:30` is a string there and here.
 * - No timestamps: go-yaml v2 keeps `2027-01-31` a string when it decodes into an untyped value,
 *   so an unquoted `tollgate.dev/exempt-until` date is the string the exemption needs, where
 *   js-yaml's default schema made it a Date.
 * - Merge keys (`<<`), which go-yaml v2 also applies, and js-yaml's explicit `!!binary`, `!!omap`,
 *   `!!pairs`, `!!set`, as before.
 * Each type here replaces the core schema's type of the same tag, in its place.
 */
export const MANIFEST_SCHEMA: Schema = CORE_SCHEMA.extend({
  implicit: [yaml11Bool, yaml11Int, yaml11Float, types.merge],
  explicit: [types.binary, types.omap, types.pairs, types.set],
});

/**
 * tollgate's config file: YAML 1.2 (the core schema), with merge keys. kubectl never parses it (it
 * travels as one string in a ConfigMap), so YAML 1.1 does not apply, and would turn
 * `severity: off` into `false`. No timestamps either: `until: 2027-01-31` is the string the
 * config schema asks for.
 */
export const CONFIG_SCHEMA: Schema = CORE_SCHEMA.extend({ implicit: [types.merge] });
