import { refOf } from "../../objects/object.js";
import type { ReportFinding } from "../../report/model.js";
import { DAY_MS, finding, list, tlsLeaf } from "./shared.js";
import type { Check } from "./types.js";

export const tlsSecretShortLived: Check = {
  id: "tls-secret-short-lived",
  title: "Serving certificates are issued for long enough to renew them in time",
  category: "cluster",
  defaultSeverity: "warn",
  sources: ["audit"],
  description:
    "A kubernetes.io/tls Secret whose certificate was issued for less than `minCertificateValidityDays` (default 7 days: from its notBefore to its notAfter) leaves no time to notice and fix a renewal that fails over a weekend; such lifetimes usually come from a mistyped `duration` on a cert-manager Certificate or Issuer (`1h` instead of `2160h`). Certificates made short-lived on purpose (a private CA renewing hourly) can lower the minimum to 1 or set this check's severity to off.",
  remediation: `Issue the certificate for longer; with cert-manager, on the Certificate:

\`\`\`yaml
apiVersion: cert-manager.io/v1
kind: Certificate
metadata:
  name: web
  namespace: shop
spec:
  secretName: web-tls
  duration: 2160h # 90 days
  renewBefore: 720h # renewed 30 days ahead
  dnsNames: [shop.example.com]
  issuerRef: { name: letsencrypt, kind: ClusterIssuer }
\`\`\``,
  needs: ["Secret"],
  namespaceScoped: true,
  run(snapshot, { config }) {
    const minimum = config.minCertificateValidityDays;
    const findings: ReportFinding[] = [];
    for (const secret of list(snapshot, "Secret")) {
      const leaf = tlsLeaf(secret);
      if (!leaf) continue;
      const lifetime = new Date(leaf.validTo).getTime() - new Date(leaf.validFrom).getTime();
      if (lifetime >= minimum * DAY_MS) continue;
      const ref = refOf(secret);
      const hours = Math.round(lifetime / 3_600_000);
      const issued =
        hours < 48 ? `${hours} hour${hours === 1 ? "" : "s"}` : `${Math.floor(lifetime / DAY_MS)} days`;
      findings.push(
        finding(
          tlsSecretShortLived,
          ref,
          "data.tls.crt",
          `the certificate in Secret ${ref.namespace}/${ref.name} was issued for ${issued}, less than the ${minimum} days of minCertificateValidityDays`,
          "issue the certificate for longer (cert-manager: spec.duration on the Certificate)",
        ),
      );
    }
    return findings;
  },
};
