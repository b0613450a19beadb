import { ApiException, KubeConfig } from "@kubernetes/client-node";

/** A cluster connection problem the user must fix: exit code 2 and the message. */
export class ClusterError extends Error {
  override name = "ClusterError";
}

export interface KubeConfigOptions {
  /** A kubeconfig file; the default chain (KUBECONFIG, ~/.kube/config, in-cluster) when absent. */
  kubeconfig?: string | undefined;
  context?: string | undefined;
}

export type KubeTarget = KubeConfigOptions;

/**
 * Load a kubeconfig as kubectl does: `--kubeconfig` or else `$KUBECONFIG`, `~/.kube/config`, or the
 * in-cluster service account; `--context` or else the current context.
 */
export function loadKubeConfig(options: KubeConfigOptions = {}): KubeConfig {
  const kc = new KubeConfig();
  const source = options.kubeconfig ?? "the default kubeconfig";
  try {
    if (options.kubeconfig !== undefined) kc.loadFromFile(options.kubeconfig);
    else kc.loadFromDefault();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code ?? (error instanceof Error ? error.message.split("\n")[0] : String(error));
    throw new ClusterError(`cannot load ${source}: ${reason}`);
  }
  if (options.context !== undefined) {
    if (!kc.getContextObject(options.context)) {
      const known = kc.getContexts().map((c) => c.name);
      throw new ClusterError(
        `context ${JSON.stringify(options.context)} is not in ${source}${known.length > 0 ? ` (contexts: ${known.join(", ")})` : ""}`,
      );
    }
    kc.setCurrentContext(options.context);
  }
  if (!kc.getCurrentCluster()) {
    throw new ClusterError(`${source} has no current cluster: give --kubeconfig or --context`);
  }
  return kc;
}

/** The server URL of the current context, for messages. */
export function serverOf(kc: KubeConfig): string {
  return kc.getCurrentCluster()?.server ?? "(no server)";
}

/** What went wrong with one API call, reduced to what `audit` acts on. */
export type ApiFailure =
  | { type: "forbidden"; message: string }
  | { type: "not found"; message: string }
  | { type: "unauthorized"; message: string }
  | { type: "unreachable"; message: string }
  | { type: "other"; message: string };

function statusMessage(body: unknown): string | undefined {
  let parsed: unknown = body;
  if (typeof body === "string") {
    try {
      parsed = JSON.parse(body);
    } catch {
      return body.trim() === "" ? undefined : body.trim().slice(0, 200);
    }
  }
  if (typeof parsed === "object" && parsed !== null && "message" in parsed) {
    const message = (parsed as { message: unknown }).message;
    return typeof message === "string" ? message : undefined;
  }
  return undefined;
}

/** The root cause of a network error (node-fetch wraps the socket error). */
function networkReason(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && typeof current === "object" && current !== null; depth++) {
    const { code, message, cause } = current as { code?: unknown; message?: unknown; cause?: unknown };
    if (typeof code === "string" && /^(E[A-Z_]+|CERT_|DEPTH_|SELF_SIGNED|UNABLE_|ERR_TLS)/.test(code)) {
      return typeof message === "string" && message.includes(code)
        ? message.replace(/^.*reason: /, "")
        : code;
    }
    current = cause;
  }
  const { type, message } = (error ?? {}) as { type?: unknown; message?: unknown };
  if (type === "system" || type === "request-timeout") {
    return typeof message === "string" ? message.replace(/^.*reason: /, "") : String(type);
  }
  return undefined;
}

/** Classify an error thrown by a client-node call. */
export function classifyApiError(error: unknown): ApiFailure {
  if (error instanceof ApiException) {
    const message = statusMessage(error.body) ?? `HTTP ${error.code}`;
    if (error.code === 403) return { type: "forbidden", message };
    if (error.code === 404) return { type: "not found", message };
    if (error.code === 401) return { type: "unauthorized", message };
    return { type: "other", message: `HTTP ${error.code}: ${message}` };
  }
  const reason = networkReason(error);
  if (reason !== undefined) return { type: "unreachable", message: reason };
  return { type: "other", message: error instanceof Error ? error.message : String(error) };
}

/** The error to stop on when the cluster cannot be used at all (unreachable, credentials refused). */
export function fatalClusterError(failure: ApiFailure, server: string): ClusterError | undefined {
  if (failure.type === "unreachable")
    return new ClusterError(`cannot reach the cluster at ${server}: ${failure.message}`);
  if (failure.type === "unauthorized") {
    return new ClusterError(
      `the cluster at ${server} refused the credentials (401 Unauthorized): check the user of the context`,
    );
  }
  return undefined;
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
    const message = statusMessage(error.body);
    return new Error(`${what}: the apiserver answered ${error.code}${message ? `: ${message}` : ""}`);
  }
  return new Error(`${what}: ${error instanceof Error ? error.message : String(error)}`);
}
