import { refOf } from "../../objects/object.js";
import type { ReportFinding } from "../../report/model.js";
import { DAY_MS, EXPIRY_DAYS, expiryMessage, finding, list, tlsLeaf } from "./shared.js";
import type { Check } from "./types.js";

export const tlsSecretExpiring: Check = {
  id: "tls-secret-expiring",
  title: "TLS certificates are not about to expire",
  category: "cluster",
  defaultSeverity: "warn",
  sources: ["audit"],
  description: `A kubernetes.io/tls Secret whose certificate expires within ${EXPIRY_DAYS} days breaks the Ingress or service that serves it.`,
  remediation: "Renew the certificate (cert-manager renews automatically when it manages the Secret).",
  needs: ["Secret"],
  namespaceScoped: true,
  run(snapshot, { now }) {
    const findings: ReportFinding[] = [];
    for (const secret of list(snapshot, "Secret")) {
      const leaf = tlsLeaf(secret);
      if (!leaf) continue;
      const notAfter = new Date(leaf.validTo);
      if (notAfter.getTime() - now.getTime() > EXPIRY_DAYS * DAY_MS) continue;
      const ref = refOf(secret);
      findings.push(
        finding(
          tlsSecretExpiring,
          ref,
          "data.tls.crt",
          expiryMessage(`the certificate in Secret ${ref.namespace}/${ref.name}`, notAfter, now),
          "renew the certificate and update the Secret",
        ),
      );
    }
    return findings;
  },
};
