import type { Environment } from "@marcbachmann/cel-js";
import { registerLists } from "./lists.js";
import { registerStrings } from "./strings.js";

/**
 * The Kubernetes CEL libraries that cel-js does not have built in, registered in the order of the
 * apiserver's base environment (k8s.io/apiserver/pkg/cel/environment/base.go, newest release).
 */
export function registerKubernetesLibraries(env: Environment): void {
  registerStrings(env);
  registerLists(env);
}
