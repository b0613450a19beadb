import type { NamespaceTarget, Rule } from "./types.js";

export const PSS_ENFORCE_LABEL = "pod-security.kubernetes.io/enforce";

export const namespacePssLabelMissing: Rule<NamespaceTarget> = {
  id: "namespace-pss-label-missing",
  title: "Namespaces set a Pod Security Standards level",
  category: "namespace",
  defaultSeverity: "warn",
  targets: ["namespace"],
  kinds: ["Namespace"],
  description:
    "Pod Security Admission, built into the apiserver, enforces the Pod Security Standards only in namespaces labelled with a level. Without `pod-security.kubernetes.io/enforce` a namespace falls back to the cluster default, often privileged, so tollgate would be the only guard. Label every namespace restricted, or baseline where restricted is not yet possible.",
  remediation: `Label the namespace with the level it enforces:

\`\`\`yaml
apiVersion: v1
kind: Namespace
metadata:
  name: team-a
  labels:
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/enforce-version: latest
\`\`\``,
  check(target) {
    if (target.namespace.metadata?.labels?.[PSS_ENFORCE_LABEL]) return [];
    return [
      {
        path: "metadata.labels",
        message: `Namespace has no ${PSS_ENFORCE_LABEL} label`,
        fix: `label the namespace ${PSS_ENFORCE_LABEL}=restricted (or baseline)`,
      },
    ];
  },
};
