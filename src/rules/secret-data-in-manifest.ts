import type { RawFinding, Rule, SecretTarget } from "./types.js";

export const secretDataInManifest: Rule<SecretTarget> = {
  id: "secret-data-in-manifest",
  title: "Secret values are not committed with the manifests",
  category: "secrets",
  defaultSeverity: "warn",
  targets: ["secret"],
  kinds: ["Secret"],
  sources: ["check"],
  description:
    "A Secret with data or stringData in a checked-in file puts the credential in Git, where it stays in the history after it is rotated (base64 is an encoding, not encryption). Deliver secrets from a secret store with External Secrets (or encrypt them with Sealed Secrets or SOPS). Runs in `tollgate check` only: in the cluster, a Secret holds data by design.",
  remediation: `Describe where the value lives instead of the value:

\`\`\`yaml
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: web-db
spec:
  secretStoreRef:
    kind: ClusterSecretStore
    name: vault
  target:
    name: web-db
  data:
    - secretKey: password
      remoteRef:
        key: prod/web/db
        property: password
\`\`\``,
  check(target) {
    const findings: RawFinding[] = [];
    for (const field of ["data", "stringData"] as const) {
      const keys = Object.keys(target.secret[field] ?? {});
      if (keys.length === 0) continue;
      findings.push({
        path: field,
        message: `Secret holds ${keys.length === 1 ? "1 value" : `${keys.length} values`} in ${field} (${keys.join(", ")})`,
        fix: "deliver the values with External Secrets (or Sealed Secrets/SOPS), not in the manifest",
      });
    }
    return findings;
  },
};
