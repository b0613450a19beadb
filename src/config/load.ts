import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { YAMLException } from "js-yaml";
import { type LineTable, lineOfPath, type ParsedDocument, parseYamlDocuments } from "../input/positions.js";
import { CONFIG_SCHEMA } from "../input/schemas.js";
import { RULES } from "../rules/index.js";
import { nearest } from "../suggest.js";
import { guessResource, kindInGroup } from "../objects/kinds.js";
import {
  type Config,
  type ConfigInput,
  configSchema,
  MAX_TEMPLATE_PATH_SEGMENTS,
  type PodTemplateInput,
} from "./schema.js";

export const SYSTEM_NAMESPACES = ["kube-system", "kube-node-lease", "kube-public"] as const;

/**
 * The kube-controller-manager's identities that create Pods: its own user when it runs with shared
 * credentials, else one ServiceAccount per controller (`--use-service-account-credentials`, as
 * kubeadm and most distributions run it).
 */
export const WORKLOAD_CONTROLLERS = [
  "system:kube-controller-manager",
  "system:serviceaccount:kube-system:daemon-set-controller",
  "system:serviceaccount:kube-system:job-controller",
  "system:serviceaccount:kube-system:replicaset-controller",
  "system:serviceaccount:kube-system:replication-controller",
  "system:serviceaccount:kube-system:statefulset-controller",
] as const;

export const DEFAULT_CONFIG: Config = {
  defaultMode: "enforce",
  rules: {},
  exemptions: [],
  maxExemptionDays: 90,
  policyAdmins: { users: [], groups: ["system:masters"], serviceAccounts: [] },
  excludedNamespaces: [...SYSTEM_NAMESPACES, "tollgate"],
  skipOwnedPods: true,
  workloadControllers: [...WORKLOAD_CONTROLLERS],
  ratchet: true,
  allowedRegistries: [],
  nodePoolKeys: [],
  helmMaxRevisions: 10,
  minCertificateValidityDays: 7,
  onRuleError: "allow",
  webhook: {
    name: "tollgate",
    namespace: "tollgate",
    service: "tollgate",
    port: 443,
    failurePolicy: "Fail",
    timeoutSeconds: 3,
  },
  policies: [],
  audit: { enabled: true, resync: "10m", maxResults: 500 },
  podTemplates: [],
};

/** A config that could not be read or does not match the schema; the message names file, line and field. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

let validateConfig: ValidateFunction<ConfigInput> | undefined;

/**
 * The schema's validator, compiled on first use: `tollgate check` without `--config` never needs
 * it, and compiling it was about 40 ms of that command's start-up (a third of its time over bare Node).
 */
function configValidator(): ValidateFunction<ConfigInput> {
  // verbose: an unknown key's error then carries the keys its mapping takes, for "did you mean".
  validateConfig ??= new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true }).compile(
    configSchema,
  );
  return validateConfig;
}

/** ` (did you mean "x"?)` when a known word is near `word`, else `otherwise`. */
function hint(word: string, known: Iterable<string>, otherwise = ""): string {
  const match = nearest(word, known);
  return match === undefined ? otherwise : ` (did you mean ${JSON.stringify(match)}?)`;
}

function describe(error: ErrorObject): string {
  const field = error.instancePath.replace(/^\//, "").replaceAll("/", ".") || "(top level)";
  if (error.keyword === "additionalProperties") {
    const extra = (error.params as { additionalProperty: string }).additionalProperty;
    const known = Object.keys((error.parentSchema as { properties?: object } | undefined)?.properties ?? {});
    return `${field === "(top level)" ? "" : `${field}.`}${extra}: unknown key${hint(extra, known)}`;
  }
  if (error.keyword === "enum") {
    const allowed = (error.params as { allowedValues: unknown[] }).allowedValues;
    const near = typeof error.data === "string" ? hint(error.data, allowed.map(String)) : "";
    return `${field}: must be one of ${allowed.map((v) => JSON.stringify(v)).join(", ")}${near}`;
  }
  return `${field}: ${error.message ?? "is invalid"}`;
}

/** One problem in a config file: its line (0 when unknown) and what is wrong, without the file. */
interface Problem {
  line: number;
  text: string;
}

/** Where a parsed config's fields sit, for the checks that run after parsing (rule ids). */
interface Positions {
  lines: LineTable;
  value: unknown;
}

/** The positions of each config read from a file, kept as long as the config lives. */
const POSITIONS = new WeakMap<Config, Positions>();

/** `["rules"]["run-as-root"]`, the path form lineOfPath reads, from raw segments. */
function pathOf(segments: readonly (string | number)[]): string {
  return segments.map((seg) => (typeof seg === "number" ? `[${seg}]` : `[${JSON.stringify(seg)}]`)).join("");
}

function lineIn(positions: Positions | undefined, segments: readonly (string | number)[]): number {
  return positions ? lineOfPath(positions.lines, positions.value, pathOf(segments), 0) : 0;
}

/** Every problem at once, in line order, each naming file and line, as one ConfigError. */
function configError(source: string, problems: readonly Problem[]): ConfigError {
  const lines = [...problems]
    .sort((a, b) => a.line - b.line)
    .map((problem) => `${source}${problem.line ? `:${problem.line}` : ""}: ${problem.text}`);
  return new ConfigError(`invalid config:\n  ${lines.join("\n  ")}`);
}

function kindOf(value: unknown): string {
  if (Array.isArray(value)) return "list";
  if (value === null) return "null";
  return typeof value;
}

const EXPECTED: Record<string, string> = {
  boolean: "true or false",
  number: "a number",
  string: "a string",
  list: "a list",
};

/**
 * The options of built-in rules, checked against the options each rule declares (its
 * defaultOptions: the key, and the type of its default): a misspelt key or a value of the wrong
 * type (`requireCpuLimit: "no"`) would otherwise be read as absent and leave the default on.
 */
function optionProblems(rules: Config["rules"], positions: Positions): Problem[] {
  const problems: Problem[] = [];
  for (const [id, settings] of Object.entries(rules)) {
    const rule = RULES.get(id);
    if (rule === undefined || settings.options === undefined) continue;
    const defaults = rule.defaultOptions ?? {};
    const known = Object.keys(defaults);
    for (const [key, value] of Object.entries(settings.options)) {
      const at = ["rules", id, "options", key];
      const field = `rules.${id}.options.${key}`;
      if (!Object.hasOwn(defaults, key)) {
        const text =
          known.length === 0
            ? `${field}: unknown option: ${id} takes no options`
            : `${field}: unknown option${hint(key, known, ` (${id} takes ${known.join(", ")})`)}`;
        problems.push({ line: lineIn(positions, at), text });
        continue;
      }
      const expected = kindOf(defaults[key]);
      if (kindOf(value) !== expected) {
        const got = typeof value === "string" ? `the string ${JSON.stringify(value)}` : JSON.stringify(value);
        problems.push({
          line: lineIn(positions, at),
          text: `${field}: must be ${EXPECTED[expected] ?? expected}, got ${got}`,
        });
      }
    }
  }
  return problems;
}

/**
 * Rule ids the config names (severities, options, exemptions) that are not among `knownRules`,
 * and options given to a rule that is not built-in (a ValidatingAdmissionPolicy takes params).
 */
function ruleIdProblems(config: Config, knownRules: ReadonlySet<string>, positions?: Positions): Problem[] {
  const problems: Problem[] = [];
  const unknown = (id: string) => {
    const suggestion = hint(id, knownRules, " (see `tollgate rules`)");
    return `unknown rule id ${JSON.stringify(id)}${suggestion}`;
  };
  for (const [id, settings] of Object.entries(config.rules)) {
    if (!knownRules.has(id)) {
      problems.push({ line: lineIn(positions, ["rules", id]), text: `rules: ${unknown(id)}` });
    } else if (!RULES.has(id) && settings.options !== undefined) {
      problems.push({
        line: lineIn(positions, ["rules", id, "options"]),
        text: `rules.${id}.options: ${id} is a ValidatingAdmissionPolicy, which takes params, not options`,
      });
    }
  }
  config.exemptions.forEach((exemption, index) => {
    exemption.rules.forEach((id, item) => {
      if (id === "*" || knownRules.has(id)) return;
      const line = lineIn(positions, ["exemptions", index, "rules", item]);
      problems.push({ line, text: `exemptions.${index}.rules: ${unknown(id)}` });
    });
  });
  return problems;
}

/** A DNS subdomain with at least one dot, as a CRD's group must be (`argoproj.io`). */
const CRD_GROUP = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$/;
/** A kind as CRDs spell it: a letter, then letters and digits (`Rollout`, `CloneSet`). */
const KIND_NAME = /^[A-Za-z][A-Za-z0-9]*$/;
/** A resource name: a DNS label (`rollouts`). */
const RESOURCE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** One segment of a template's dotted path: a field name (`spec`, `template`, `jobTemplate`). */
const PATH_SEGMENT = /^[A-Za-z0-9_-]{1,63}$/;

/**
 * What the schema cannot say about `podTemplates`: the group and kind of a custom resource (not a
 * built-in kind, which tollgate judges already, and not twice), a resource name, a dotted path of
 * field names. Reads the raw value, so that it also runs beside the schema's errors; an entry whose
 * fields are not strings is left to the schema.
 */
function podTemplateProblems(value: unknown, positions: Positions): Problem[] {
  const templates = (value as { podTemplates?: unknown }).podTemplates;
  if (!Array.isArray(templates)) return [];
  const problems: Problem[] = [];
  const seen = new Map<string, number>();
  templates.forEach((entry: unknown, index) => {
    if (typeof entry !== "object" || entry === null) return;
    const { group, kind, path, resource } = entry as Partial<Record<keyof PodTemplateInput, unknown>>;
    const at = (field: string) => lineIn(positions, ["podTemplates", index, field]);
    const field = (name: string) => `podTemplates.${index}.${name}`;
    if (typeof group === "string" && typeof kind === "string") {
      const builtIn = kindInGroup(group, kind);
      if (builtIn !== undefined) {
        problems.push({
          line: at("kind"),
          text: `${field("kind")}: ${group || "core"} ${kind} is a kind tollgate knows already${builtIn.podSpecPath ? ", and judges its pod spec" : ""}; podTemplates is for custom resources`,
        });
      } else if (!CRD_GROUP.test(group)) {
        problems.push({
          line: at("group"),
          text: `${field("group")}: must be the API group of a custom resource, a lower-case DNS name with a dot (argoproj.io), got ${JSON.stringify(group)}`,
        });
      }
      if (!KIND_NAME.test(kind)) {
        problems.push({
          line: at("kind"),
          text: `${field("kind")}: must be a kind (letters and digits, starting with a letter: Rollout), got ${JSON.stringify(kind)}`,
        });
      }
      const key = `${group}/${kind}`;
      const first = seen.get(key);
      if (first !== undefined) {
        problems.push({
          line: at("kind"),
          text: `${field("kind")}: ${group} ${kind} is configured already in podTemplates.${first}; one entry per kind`,
        });
      } else seen.set(key, index);
    }
    if (typeof resource === "string" && !RESOURCE_NAME.test(resource)) {
      problems.push({
        line: at("resource"),
        text: `${field("resource")}: must be the plural resource name (lower-case letters, digits and '-': rollouts), got ${JSON.stringify(resource)}`,
      });
    }
    if (typeof path === "string") {
      const segments = path.split(".");
      const bad = segments.find((segment) => !PATH_SEGMENT.test(segment));
      // They would read the object's prototype, not a field of it.
      const prototypal = segments.find((segment) => segment === "__proto__" || segment === "constructor");
      if (prototypal !== undefined) {
        problems.push({
          line: at("path"),
          text: `${field("path")}: ${JSON.stringify(prototypal)} is not a field of a Kubernetes object`,
        });
      } else if (bad !== undefined) {
        problems.push({
          line: at("path"),
          text: `${field("path")}: must be field names joined by dots (spec.template), each of letters, digits, '_' and '-', at most 63; ${JSON.stringify(bad)} is not one`,
        });
      } else if (segments.length > MAX_TEMPLATE_PATH_SEGMENTS) {
        problems.push({
          line: at("path"),
          text: `${field("path")}: has ${segments.length} fields; at most ${MAX_TEMPLATE_PATH_SEGMENTS}`,
        });
      } else if (segments[0] === "metadata" || segments[0] === "status") {
        problems.push({
          line: at("path"),
          text: `${field("path")}: a pod template sits in the object's spec, not its ${segments[0]} (spec.template)`,
        });
      }
    }
  });
  return problems;
}

/** Merge a validated input over the defaults; lists replace, objects merge by key. */
export function resolveConfig(input: ConfigInput): Config {
  return {
    ...DEFAULT_CONFIG,
    ...input,
    rules: { ...(input.rules ?? {}) },
    exemptions: input.exemptions ?? [],
    policyAdmins: { ...DEFAULT_CONFIG.policyAdmins, ...(input.policyAdmins ?? {}) },
    webhook: { ...DEFAULT_CONFIG.webhook, ...(input.webhook ?? {}) },
    audit: { ...DEFAULT_CONFIG.audit, ...(input.audit ?? {}) },
    podTemplates: (input.podTemplates ?? []).map((entry) => ({
      ...entry,
      resource: entry.resource ?? guessResource(entry.kind),
      like: entry.like ?? "Deployment",
    })),
  } as Config;
}

/**
 * Parse and validate config text. `source` names the file in errors. Unknown rule ids are
 * rejected when `knownRules` is given, so a typo cannot silently disable nothing; with
 * `unlessPolicies`, only when the config names no `policies:` (their names are rule ids too, known
 * once they are read: checkRuleIds then). Every problem found is reported at once.
 */
export function parseConfig(
  text: string,
  source: string,
  knownRules?: ReadonlySet<string>,
  unlessPolicies = false,
): Config {
  let documents: ParsedDocument[];
  try {
    documents = parseYamlDocuments(text, 1, CONFIG_SCHEMA);
  } catch (error) {
    if (!(error instanceof YAMLException)) throw error;
    const where = `${source}:${error.mark.line + 1}:${error.mark.column + 1}`;
    throw new ConfigError(`${where}: invalid YAML: ${error.reason}`);
  }
  if (documents.length > 1) throw new ConfigError(`${source}: the config must be one YAML document`);
  const document = documents[0];
  // An emptied file (`: > config.yaml`, a ConfigMap key set to "") is a mistake far more often
  // than a wish for the defaults, and taking it for the defaults relaxed a hardened config
  // without a word. The defaults are asked for with `{}`.
  if (document === undefined || document.value === null || document.value === undefined) {
    throw new ConfigError(
      `${source}: the config file is empty (nothing but whitespace or comments); write {} to ask for the defaults`,
    );
  }
  const value: unknown = document.value;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(`${source}: the config must be a YAML mapping`);
  }
  const validate = configValidator();
  const positions: Positions = { lines: document.lines, value };
  const policies = (value as { policies?: unknown }).policies;
  const idsKnown = unlessPolicies && Array.isArray(policies) && policies.length > 0 ? undefined : knownRules;
  if (!validate(value)) {
    const problems = (validate.errors ?? []).map((error) => {
      const segments: (string | number)[] = error.instancePath
        .split("/")
        .slice(1)
        .map((seg) => (/^\d+$/.test(seg) ? Number(seg) : seg));
      if (error.keyword === "additionalProperties") {
        segments.push((error.params as { additionalProperty: string }).additionalProperty);
      }
      return { line: lineIn(positions, segments), text: describe(error) };
    });
    // Options are only read once the shape is right, but a wrong option is reported with the rest.
    const rules = (value as { rules?: unknown }).rules;
    const shaped = typeof rules === "object" && rules !== null && !Array.isArray(rules);
    const options = shaped ? optionProblems(rulesWithOptionMaps(rules), positions) : [];
    const ids = idsKnown
      ? ruleIdProblems(
          {
            ...DEFAULT_CONFIG,
            rules: shaped ? rulesWithOptionMaps(rules, true) : {},
            exemptions: looseExemptions(value),
          },
          idsKnown,
          positions,
        )
      : [];
    throw configError(source, [...problems, ...options, ...ids, ...podTemplateProblems(value, positions)]);
  }
  const config = resolveConfig(value);
  const problems = [
    ...optionProblems(config.rules, positions),
    ...podTemplateProblems(value, positions),
    ...(idsKnown ? ruleIdProblems(config, idsKnown, positions) : []),
  ];
  if (problems.length > 0) throw configError(source, problems);
  POSITIONS.set(config, positions);
  return config;
}

/**
 * The exemptions of a config that failed the schema, each with the rule ids it names (none when
 * its `rules` is not a list of strings), at the index it has in the file.
 */
function looseExemptions(value: object): Config["exemptions"] {
  const exemptions = (value as { exemptions?: unknown }).exemptions;
  if (!Array.isArray(exemptions)) return [];
  return exemptions.map((exemption: unknown) => {
    const rules = (exemption as { rules?: unknown } | null)?.rules;
    const ids = Array.isArray(rules) && rules.every((id) => typeof id === "string") ? rules : [];
    return { rules: ids as string[], reason: "", until: "" };
  });
}

/**
 * The entries of a `rules:` that failed the schema, with their options when those are a mapping
 * (the only ones to check); `all` keeps the entries without such options too, for their ids.
 */
function rulesWithOptionMaps(rules: object, all = false): Config["rules"] {
  const checked: Config["rules"] = {};
  for (const [id, settings] of Object.entries(rules)) {
    const options: unknown = (settings as { options?: unknown } | null)?.options;
    if (typeof options === "object" && options !== null && !Array.isArray(options)) {
      checked[id] = { options: options as Record<string, unknown> };
    } else if (all) checked[id] = {};
  }
  return checked;
}

/**
 * Every rule id the config names (severities, exemptions) must be known, so that a typo cannot
 * silently disable nothing. Called at parse time with the built-in ids, or after the config's
 * ValidatingAdmissionPolicies are loaded with their names too.
 */
export function checkRuleIds(config: Config, knownRules: ReadonlySet<string>, source: string): void {
  const problems = ruleIdProblems(config, knownRules, POSITIONS.get(config));
  if (problems.length > 0) throw configError(source, problems);
}

/** Read and validate a config file; a missing or unreadable file is a ConfigError naming it. */
export function loadConfigFile(
  path: string,
  knownRules?: ReadonlySet<string>,
  unlessPolicies = false,
): Config {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "unreadable";
    throw new ConfigError(`${path}: cannot read the config file (${code})`);
  }
  const parsed = parseConfig(text, path, knownRules, unlessPolicies);
  const config = { ...parsed, policies: parsed.policies.map((policy) => resolve(dirname(path), policy)) };
  const positions = POSITIONS.get(parsed);
  if (positions) POSITIONS.set(config, positions);
  return config;
}
