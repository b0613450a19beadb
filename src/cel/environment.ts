import { Environment } from "@marcbachmann/cel-js";
import { registerKubernetesLibraries } from "./library/index.js";

/**
 * The variables a ValidatingAdmissionPolicy's expressions see, as the apiserver declares them.
 * `authorizer` and `authorizer.requestResource` are left out on purpose: tollgate cannot ask the
 * apiserver's authorizer offline, so a policy that uses them is refused at load (see compile.ts).
 */
export const POLICY_VARIABLES = [
  "object",
  "oldObject",
  "request",
  "params",
  "namespaceObject",
  "variables",
] as const;

export type PolicyVariable = (typeof POLICY_VARIABLES)[number];

/** Variables the apiserver offers that tollgate refuses, with the reason a user is shown. */
export const REFUSED_VARIABLES: Readonly<Record<string, string>> = {
  authorizer:
    "tollgate cannot run the apiserver's authorization checks outside the apiserver; keep this policy in the apiserver (tollgate export vap)",
};

let shared: Environment | undefined;

/**
 * One environment for every policy expression: built once, then cloned per use is not needed since
 * nothing registers into it after start-up. The options follow the apiserver's base environment:
 * homogeneous aggregate literals, optional types (`.?field`, `orValue`), cross-type numeric
 * comparisons (cel-js compares int, uint and double across types already).
 */
export function policyEnvironment(): Environment {
  if (shared) return shared;
  const env = new Environment({
    enableOptionalTypes: true,
    homogeneousAggregateLiterals: true,
    unlistedVariablesAreDyn: false,
  });
  for (const name of POLICY_VARIABLES) env.registerVariable(name, "dyn");
  registerKubernetesLibraries(env);
  shared = env;
  return env;
}
