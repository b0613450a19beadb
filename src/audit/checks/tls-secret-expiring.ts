import { isRecord, refOf } from "../../objects/object.js";
import type { ReportFinding } from "../../report/model.js";
import { bundleCertificates } from "../../tls/rotation.js";
import {
  DAY_MS,
  decodeBase64,
  EXPIRY_DAYS,
  expiryMessage,
  finding,
  list,
  TLS_SECRET_TYPE,
} from "./shared.js";
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
      if (secret.type !== TLS_SECRET_TYPE || !isRecord(secret.data)) continue;
      const [leaf] = bundleCertificates(decodeBase64(secret.data["tls.crt"]));
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
