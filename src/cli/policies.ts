import { resolve } from "node:path";
import { checkRuleIds, ConfigError, DEFAULT_CONFIG, loadConfigFile } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { describeInputError, type InputError } from "../input/documents.js";
import { RULES } from "../rules/index.js";
import { compilePolicy, type Policy } from "../engine/policy.js";
import { EMPTY_POLICY_SET, loadPolicySet, loadPolicySetSync, type PolicySet } from "../vap/load.js";

export interface Loaded {
  config: Config;
  policies: PolicySet;
  /** Problems in the policy files, each naming file, line, policy and field. */
  errors: InputError[];
}

/**
 * The config and the ValidatingAdmissionPolicies it and `--policy` name. The config's rule ids are
 * checked once the policies are known, so that a config may set the severity of, or exempt from,
 * a policy of its own.
 */
export async function loadConfigAndPolicies(
  configPath: string | undefined,
  policyPaths: readonly string[],
): Promise<Loaded> {
  // The path as given: errors name the file the way the user wrote it.
  const path = configPath;
  const builtIn = new Set(RULES.keys());
  // Without policies, the built-in ids are all the ids there are: they are checked with the rest
  // of the file, so that every mistake in it is reported at once.
  const config =
    path === undefined
      ? DEFAULT_CONFIG
      : loadConfigFile(path, policyPaths.length === 0 ? builtIn : undefined, true);
  const paths = [...config.policies, ...policyPaths.map((policy) => resolve(policy))];
  const { set, errors } =
    paths.length === 0 ? { set: EMPTY_POLICY_SET, errors: [] } : await loadPolicySet(paths, builtIn);
  if (path !== undefined)
    checkRuleIds(config, new Set([...builtIn, ...set.policies.map((policy) => policy.name)]), path);
  return { config, policies: set, errors };
}

/**
 * The server's policy for a config: its ValidatingAdmissionPolicies read (synchronously, so that a
 * reload applies at once) and compiled with it. Any problem in them is a ConfigError that lists
 * each one, so that start-up refuses the config and a reload keeps the last good one.
 */
export function compileServedPolicy(config: Config, source: string | undefined): Policy {
  const builtIn = new Set(RULES.keys());
  const { set, errors } =
    config.policies.length === 0
      ? { set: EMPTY_POLICY_SET, errors: [] }
      : loadPolicySetSync(config.policies, builtIn);
  if (errors.length > 0) {
    const lines = errors.map(describeInputError);
    throw new ConfigError(`invalid policies in ${source ?? "the config"}:\n  ${lines.join("\n  ")}`);
  }
  if (source !== undefined)
    checkRuleIds(config, new Set([...builtIn, ...set.policies.map((policy) => policy.name)]), source);
  return compilePolicy(config, RULES, undefined, set);
}
