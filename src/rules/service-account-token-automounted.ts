import type { PodSpecTarget, RawFinding, Rule, ServiceAccountTarget } from "./types.js";
import { POD_SPEC_KINDS } from "../objects/kinds.js";

export const serviceAccountTokenAutomounted: Rule<PodSpecTarget | ServiceAccountTarget> = {
  id: "service-account-token-automounted",
  title: "ServiceAccount tokens are mounted only where needed",
  category: "identity",
  defaultSeverity: "warn",
  targets: ["podSpec", "serviceAccount"],
  kinds: [...POD_SPEC_KINDS, "ServiceAccount"],
  description:
    "By default every pod gets a token for its ServiceAccount, so anyone who gets a shell in any container can call the Kubernetes API as that account. Most workloads never call the API: set automountServiceAccountToken to false on the ServiceAccount and on pods that do not need it, and true only where they do. The `default` ServiceAccount that Kubernetes makes in every namespace is not flagged on its own (nobody wrote it, and the controller puts it back as it was); the pods that mount its token are.",
  remediation: `Turn the token off on the ServiceAccount and in the pod spec:

\`\`\`yaml
apiVersion: v1
kind: ServiceAccount
metadata:
  name: web
automountServiceAccountToken: false
---
# in the pod spec
automountServiceAccountToken: false
\`\`\``,
  check(target): RawFinding[] {
    if (target.type === "serviceAccount") {
      if (target.serviceAccount.automountServiceAccountToken === false) return [];
      // Every namespace has one, made by kube-controller-manager: a finding on each would say
      // nothing about what anyone deployed. The pods that use it are flagged by the branch below.
      if (target.object.name === "default") return [];
      return [
        {
          path: "automountServiceAccountToken",
          message: "ServiceAccount must set automountServiceAccountToken=false",
          fix: "set automountServiceAccountToken: false; let the pods that call the API opt in",
        },
      ];
    }
    if (target.spec.automountServiceAccountToken === false) return [];
    return [
      {
        path: `${target.specPath}.automountServiceAccountToken`,
        message: "pod must set automountServiceAccountToken=false",
        fix: "set automountServiceAccountToken: false in the pod spec unless it calls the Kubernetes API",
      },
    ];
  },
};
