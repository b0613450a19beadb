/** The namespace label that picks the webhook entry, and so the mode. */
export const MODE_LABEL = "tollgate.dev/mode";
export const EXEMPT_ANNOTATION = "tollgate.dev/exempt";
export const EXEMPT_REASON_ANNOTATION = "tollgate.dev/exempt-reason";
export const EXEMPT_UNTIL_ANNOTATION = "tollgate.dev/exempt-until";
export const EXEMPTION_ANNOTATIONS = [
  EXEMPT_ANNOTATION,
  EXEMPT_REASON_ANNOTATION,
  EXEMPT_UNTIL_ANNOTATION,
] as const;
/** Set by the apiserver on every Namespace since Kubernetes 1.21; selects namespaces by name. */
export const NAME_LABEL = "kubernetes.io/metadata.name";
