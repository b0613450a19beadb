import { CORE_SCHEMA, type Schema, Type, types } from "js-yaml";

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
 * Manifests, read as kubectl reads them before it sends JSON to the apiserver (go-yaml v2 through
 * sigs.k8s.io/yaml), so that `tollgate check` judges the object the webhook will see:
 * - YAML 1.1 booleans: `runAsNonRoot: yes` is `true`, `allowPrivilegeEscalation: off` is `false`;
 *   quoted (`"yes"`) they stay strings, as there.
 * - No timestamps: go-yaml v2 keeps `2027-01-31` a string when it decodes into an untyped value,
 *   so an unquoted `tollgate.dev/exempt-until` date is the string the exemption needs, where
 *   js-yaml's default schema made it a Date.
 * - Merge keys (`<<`), which go-yaml v2 also applies, and js-yaml's explicit `!!binary`, `!!omap`,
 *   `!!pairs`, `!!set`, as before.
 * Integers keep YAML 1.2's rules. go-yaml v2 reads `0644` as octal 420 where this reads 644, which
 * leaves zero zero and non-zero non-zero (what `runAsUser` and `hostPort` are judged on), so only
 * a message's number can differ; and it drops underscores (`8_080` is 8080) where this keeps a
 * string, a spelling no one gives a UID or a port. Neither sexagesimal `1:30` is a number here nor
 * there (go-yaml v2 dropped base 60).
 */
export const MANIFEST_SCHEMA: Schema = CORE_SCHEMA.extend({
  implicit: [yaml11Bool, types.merge],
  explicit: [types.binary, types.omap, types.pairs, types.set],
});

/**
 * tollgate's config file: YAML 1.2 (the core schema), with merge keys. kubectl never parses it (it
 * travels as one string in a ConfigMap), so YAML 1.1 does not apply, and would turn
 * `severity: off` into `false`. No timestamps either: `until: 2027-01-31` is the string the
 * config schema asks for.
 */
export const CONFIG_SCHEMA: Schema = CORE_SCHEMA.extend({ implicit: [types.merge] });
