import { existsSync } from "node:fs";
import { join } from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import { ClusterError, type KubeConfigOptions, loadKubeConfig } from "../k8s/client.js";

/** Where a Pod's service account token is mounted: the in-cluster configuration's sign. */
export const SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/**
 * Why no kubeconfig would be found without --kubeconfig, or undefined when one would. It follows
 * @kubernetes/client-node's default chain ($KUBECONFIG, ~/.kube/config, the in-cluster service
 * account), whose last resort is http://localhost:8080 with no credentials: an error about that
 * address sent people looking for a server nobody had mentioned.
 */
export function missingKubeConfig(
  env: Readonly<Record<string, string | undefined>>,
  exists: (path: string) => boolean = existsSync,
): string | undefined {
  if (env.KUBECONFIG) return undefined;
  const home = env.HOME ? join(env.HOME, ".kube", "config") : undefined;
  if (home !== undefined && exists(home)) return undefined;
  if (exists(SERVICE_ACCOUNT_TOKEN)) return undefined;
  const places = [
    "$KUBECONFIG (not set)",
    home === undefined ? "~/.kube/config ($HOME is not set)" : `${home} (no such file)`,
    `the in-cluster service account (no ${SERVICE_ACCOUNT_TOKEN})`,
  ];
  return `no kubeconfig found; looked at ${places.join(", ")}. Give --kubeconfig FILE or set KUBECONFIG`;
}

/** loadKubeConfig, refusing at once when the default chain would find nothing. */
export function kubeConfigFrom(
  options: KubeConfigOptions,
  env: Readonly<Record<string, string | undefined>>,
): KubeConfig {
  if (options.kubeconfig === undefined && process.platform !== "win32") {
    const missing = missingKubeConfig(env);
    if (missing !== undefined) throw new ClusterError(missing);
  }
  return loadKubeConfig(options);
}
