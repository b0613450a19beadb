import type { ASTNode, Environment } from "@marcbachmann/cel-js";
import { CIDR_OVERRIDES, registerCIDR } from "./cidr.js";
import { registerComprehensions } from "./comprehensions.js";
import { CONVERSIONS, markInvalidLiterals, registerConversions } from "./conversions.js";
import { EXT_LIST_METHODS, registerExtLists } from "./extLists.js";
import { LIST_METHODS } from "./lists.js";
import { IP_OVERRIDES, registerIP } from "./ip.js";
import { MethodTable } from "./methods.js";
import { registerNamedFormats } from "./namedFormats.js";
import { registerOptionals } from "./optionals.js";
import { registerQuantity } from "./quantity.js";
import { REGEX_METHODS } from "./regex.js";
import { registerSemver } from "./semver.js";
import { registerSets } from "./sets.js";
import { registerStrings, STRING_METHODS } from "./strings.js";
import { markUnavailable } from "./unavailable.js";
import { registerUrls } from "./url.js";

/** The methods that replace cel-js's own or share a name across libraries (see MethodTable). */
const methods = new MethodTable(
  CONVERSIONS,
  STRING_METHODS,
  LIST_METHODS,
  EXT_LIST_METHODS,
  REGEX_METHODS,
  IP_OVERRIDES,
  CIDR_OVERRIDES,
);

/**
 * The Kubernetes CEL libraries that cel-js does not have built in, registered in the order of the
 * apiserver's base environment (k8s.io/apiserver/pkg/cel/environment/base.go, newest release).
 */
export function registerKubernetesLibraries(env: Environment): void {
  registerConversions(env);
  registerUrls(env);
  registerOptionals(env);
  registerQuantity(env);
  registerStrings(env);
  registerSets(env);
  registerIP(env);
  registerCIDR(env);
  registerNamedFormats(env);
  registerComprehensions(env);
  registerSemver(env);
  registerExtLists(env);
  methods.register(env);
}

/**
 * What an expression parsed in the environment needs before it is checked: the calls that replace
 * cel-js's own and cannot be macros (see MethodTable.prepare), int literals cel-go refuses, and
 * what cel-js has that the apiserver does not.
 */
export function prepareExpression(ast: ASTNode): void {
  methods.prepare(ast);
  markInvalidLiterals(ast);
  markUnavailable(ast);
}
