import { refOf } from "../../objects/object.js";
import { PSS_ENFORCE_LABEL } from "../../rules/namespace-pss-label-missing.js";
import { auditedNamespaces, finding, labelsOf } from "./shared.js";
import type { Check } from "./types.js";

export const namespacePssEnforceMissing: Check = {
  id: "namespace-pss-enforce-missing",
  title: "Namespaces enforce a Pod Security level",
  category: "cluster",
  defaultSeverity: "warn",
  sources: ["audit"],
  description:
    "Without the pod-security.kubernetes.io/enforce label, Pod Security Admission enforces nothing in the namespace.",
  remediation: "```yaml\nmetadata:\n  labels:\n    pod-security.kubernetes.io/enforce: restricted\n```",
  needs: ["Namespace"],
  coveredBy: "namespace-pss-label-missing",
  namespaceScoped: true,
  run(snapshot, { config }) {
    return auditedNamespaces(snapshot, config).flatMap((ns) => {
      const name = refOf(ns).name;
      if (labelsOf(ns)[PSS_ENFORCE_LABEL]) return [];
      return [
        finding(
          namespacePssEnforceMissing,
          { kind: "Namespace", namespace: "", name },
          "metadata.labels",
          `namespace ${name} has no ${PSS_ENFORCE_LABEL} label`,
          `kubectl label namespace ${name} ${PSS_ENFORCE_LABEL}=restricted`,
        ),
      ];
    });
  },
};
