import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { YAMLException } from "js-yaml";
import { lineOfPath, type ParsedDocument, parseYamlDocuments } from "../input/positions.js";
import { CONFIG_SCHEMA } from "../input/schemas.js";
import { type Config, type ConfigInput, configSchema } from "./schema.js";

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
  validateConfig ??= new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(configSchema);
  return validateConfig;
}

function describe(error: ErrorObject): string {
  const field = error.instancePath.replace(/^\//, "").replaceAll("/", ".") || "(top level)";
  if (error.keyword === "additionalProperties") {
    const extra = (error.params as { additionalProperty: string }).additionalProperty;
    return `${field === "(top level)" ? "" : `${field}.`}${extra}: unknown key`;
  }
  if (error.keyword === "enum") {
    const allowed = (error.params as { allowedValues: unknown[] }).allowedValues;
    return `${field}: must be one of ${allowed.map((v) => JSON.stringify(v)).join(", ")}`;
  }
  return `${field}: ${error.message ?? "is invalid"}`;
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
  } as Config;
}

/**
 * Parse and validate config text. `source` names the file in errors. Unknown rule ids are
 * rejected when `knownRules` is given, so a typo cannot silently disable nothing.
 */
export function parseConfig(text: string, source: string, knownRules?: ReadonlySet<string>): Config {
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
  if (!validate(value)) {
    const lines = (validate.errors ?? []).map((error) => {
      const segments = error.instancePath.split("/").slice(1);
      if (error.keyword === "additionalProperties") {
        segments.push((error.params as { additionalProperty: string }).additionalProperty);
      }
      const path = segments.map((seg) => (/^\d+$/.test(seg) ? `[${seg}]` : `["${seg}"]`)).join("");
      const line = lineOfPath(document.lines, value, path, 0);
      return { line, text: `${source}${line ? `:${line}` : ""}: ${describe(error)}` };
    });
    lines.sort((a, b) => a.line - b.line);
    throw new ConfigError(`invalid config:\n  ${lines.map((l) => l.text).join("\n  ")}`);
  }
  const config = resolveConfig(value);
  if (knownRules) checkRuleIds(config, knownRules, source);
  return config;
}

/**
 * Every rule id the config names (severities, exemptions) must be known, so that a typo cannot
 * silently disable nothing. Called at parse time with the built-in ids, or after the config's
 * ValidatingAdmissionPolicies are loaded with their names too.
 */
export function checkRuleIds(config: Config, knownRules: ReadonlySet<string>, source: string): void {
  const unknown = [
    ...Object.keys(config.rules),
    ...config.exemptions.flatMap((e) => e.rules).filter((id) => id !== "*"),
  ].filter((id) => !knownRules.has(id));
  if (unknown.length > 0) {
    throw new ConfigError(
      `${source}: unknown rule id${unknown.length > 1 ? "s" : ""} ${[...new Set(unknown)].map((id) => JSON.stringify(id)).join(", ")} (see \`tollgate rules\`)`,
    );
  }
}

/** Read and validate a config file; a missing or unreadable file is a ConfigError naming it. */
export function loadConfigFile(path: string, knownRules?: ReadonlySet<string>): Config {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "unreadable";
    throw new ConfigError(`${path}: cannot read the config file (${code})`);
  }
  const config = parseConfig(text, path, knownRules);
  return { ...config, policies: config.policies.map((policy) => resolve(dirname(path), policy)) };
}
