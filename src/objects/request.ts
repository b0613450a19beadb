/**
 * An admission request as ValidatingAdmissionPolicies see it: what the apiserver matches policies
 * against, and the variables their expressions read. Built by the webhook from the AdmissionReview,
 * and by `check` and `test` from a manifest as the apiserver would describe its CREATE.
 */

/** What the apiserver knows of a request when it decides whether a policy applies to it. */
export interface RequestAttributes {
  operation: "CREATE" | "UPDATE" | "DELETE" | "CONNECT";
  kind: { group: string; version: string; kind: string };
  resource: { group: string; version: string; resource: string };
  subResource: string;
  /** Empty for cluster-scoped objects; the Namespace's own name for a Namespace. */
  namespace: string;
  name: string;
  objectLabels: Readonly<Record<string, string>> | undefined;
  oldObjectLabels: Readonly<Record<string, string>> | undefined;
  /**
   * The labels of the request's namespace; undefined when they are not known (no cluster, and no
   * Namespace object among the inputs).
   */
  namespaceLabels: Readonly<Record<string, string>> | undefined;
}

/** The request as a policy's expressions see it, already built by the caller. */
export interface VapRequest {
  attributes: RequestAttributes;
  /** null on DELETE. */
  object: unknown;
  /** null on CREATE. */
  oldObject: unknown;
  /** The `request` variable: kind, resource, subResource, requestKind…, name, namespace, operation, userInfo, dryRun, options. */
  request: Readonly<Record<string, unknown>>;
  /** The request's Namespace (its metadata, spec and status), or null when cluster-scoped or unknown. */
  namespaceObject: unknown;
}
