import type { ASTNode, Environment } from "@marcbachmann/cel-js";
import { registerCIDR } from "./cidr.js";
import { registerComprehensions } from "./comprehensions.js";
import { EXT_LIST_METHODS, registerExtLists } from "./extLists.js";
import { LIST_METHODS } from "./lists.js";
import { registerIP } from "./ip.js";
import { MethodTable } from "./methods.js";
import { registerNamedFormats } from "./namedFormats.js";
import { registerOptionals } from "./optionals.js";
import { registerQuantity } from "./quantity.js";
import { REGEX_METHODS } from "./regex.js";
import { registerSemver } from "./semver.js";
import { registerSets } from "./sets.js";
import { registerStrings, STRING_METHODS } from "./strings.js";
import { registerUrls } from "./url.js";

/** The methods that replace cel-js's own or share a name across libraries (see MethodTable). */
const methods = new MethodTable(STRING_METHODS, LIST_METHODS, EXT_LIST_METHODS, REGEX_METHODS);

/**
 * The Kubernetes CEL libraries that cel-js does not have built in, registered in the order of the
 * apiserver's base environment (k8s.io/apiserver/pkg/cel/environment/base.go, newest release).
 */
export function registerKubernetesLibraries(env: Environment): void {
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
 * What an expression parsed in the environment needs before it is checked: the calls of the methods
 * without arguments that replace cel-js's own (see MethodTable.prepare).
 */
export function prepareExpression(ast: ASTNode): void {
  methods.prepare(ast);
}
