import { isRecord, refOf } from "../../objects/object.js";
import type { ReportFinding } from "../../report/model.js";
import { bundleCertificates } from "../../tls/rotation.js";
import { DAY_MS, decodeBase64, EXPIRY_DAYS, expiryMessage, finding, list } from "./shared.js";
import type { Check } from "./types.js";

export const tollgateWebhookCertExpiring: Check = {
  id: "tollgate-webhook-cert-expiring",
  title: "tollgate's webhook certificate is not about to expire",
  category: "cluster",
  defaultSeverity: "warn",
  sources: ["audit"],
  description: `When every CA in the webhook's caBundle expires, the apiserver cannot call tollgate and, with failurePolicy Fail, admission stops. Reported ${EXPIRY_DAYS} days ahead.`,
  remediation: "`tollgate certs rotate`",
  needs: ["ValidatingWebhookConfiguration"],
  namespaceScoped: false,
  run(snapshot, { config, now }) {
    const name = config.webhook.name;
    const configuration = list(snapshot, "ValidatingWebhookConfiguration").find(
      (w) => refOf(w).name === name,
    );
    if (!configuration || !Array.isArray(configuration.webhooks)) return [];
    const findings: ReportFinding[] = [];
    configuration.webhooks.forEach((webhook: unknown, index) => {
      if (!isRecord(webhook) || !isRecord(webhook.clientConfig)) return;
      const certificates = bundleCertificates(decodeBase64(webhook.clientConfig.caBundle));
      const path = `webhooks[${index}].clientConfig.caBundle`;
      const entry = typeof webhook.name === "string" ? webhook.name : `#${index}`;
      if (certificates.length === 0) {
        findings.push(
          finding(
            tollgateWebhookCertExpiring,
            refOf(configuration),
            path,
            `webhook ${entry} has no CA certificate in its caBundle`,
            "tollgate certs bootstrap",
          ),
        );
        return;
      }
      const last = Math.max(...certificates.map((c) => new Date(c.validTo).getTime()));
      if (last - now.getTime() > EXPIRY_DAYS * DAY_MS) return;
      findings.push(
        finding(
          tollgateWebhookCertExpiring,
          refOf(configuration),
          path,
          expiryMessage(`the CA of webhook ${entry}`, new Date(last), now),
          "tollgate certs rotate",
        ),
      );
    });
    return findings;
  },
};
