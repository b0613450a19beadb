import { ApiException, KubeConfig } from "@kubernetes/client-node";
import { ConfigError } from "../config/load.js";

export interface KubeTarget {
  /** A kubeconfig file; the default chain (KUBECONFIG, ~/.kube/config, in-cluster) when absent. */
  kubeconfig?: string | undefined;
  context?: string | undefined;
}

/**
 * The kubeconfig for the CLI and the server: the file or context asked for, or the default chain.
 * A missing or unreadable one is a ConfigError (exit code 2) that says what to do.
 */
export function loadKubeConfig(target: KubeTarget = {}): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (target.kubeconfig) kc.loadFromFile(target.kubeconfig);
    else kc.loadFromDefault();
    if (target.context) kc.setCurrentContext(target.context);
  } catch (error) {
    const where = target.kubeconfig ? `kubeconfig ${target.kubeconfig}` : "the default kubeconfig";
    throw new ConfigError(`cannot load ${where}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!kc.getCurrentCluster()) {
    throw new ConfigError(
      "no Kubernetes cluster configured: set KUBECONFIG, pass --kubeconfig, or run inside a cluster",
    );
  }
  return kc;
}

/** Is running inside a Pod (the apiserver's Service environment is set)? */
export function inCluster(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT);
}

/** The HTTP status of a failed client-node call; undefined for errors that are not API answers. */
export function statusOf(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
}

/** A one-line description of a failed API call, with the apiserver's own message when it sent one. */
export function describeApiError(error: unknown, what: string): Error {
  if (error instanceof ApiException) {
    let message = "";
    try {
      const body: unknown = typeof error.body === "string" ? JSON.parse(error.body) : error.body;
      if (body && typeof body === "object" && "message" in body) message = String(body.message);
    } catch {
      message = String(error.body);
    }
    return new Error(`${what}: the apiserver answered ${error.code}${message ? `: ${message}` : ""}`);
  }
  return new Error(`${what}: ${error instanceof Error ? error.message : String(error)}`);
}
