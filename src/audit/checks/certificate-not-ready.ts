import { isRecord, refOf } from "../../objects/object.js";
import type { ReportFinding } from "../../report/model.js";
import { finding, list } from "./shared.js";
import type { Check } from "./types.js";

/** How much of a condition's message a finding quotes: cert-manager's can carry a whole ACME error. */
const MAX_REASON = 160;

function readyCondition(status: unknown): Record<string, unknown> | undefined {
  const conditions = isRecord(status) && Array.isArray(status.conditions) ? status.conditions : [];
  return conditions.find((c): c is Record<string, unknown> => isRecord(c) && c.type === "Ready");
}

function why(ready: Record<string, unknown> | undefined): string {
  if (ready === undefined) return "it has no Ready condition yet";
  const reason = typeof ready.reason === "string" && ready.reason !== "" ? ready.reason : "no reason given";
  const message = typeof ready.message === "string" ? ready.message.replace(/\s+/g, " ").trim() : "";
  const text = message === "" ? reason : `${reason}: ${message}`;
  return text.length > MAX_REASON ? `${text.slice(0, MAX_REASON - 1)}…` : text;
}

export const certificateNotReady: Check = {
  id: "certificate-not-ready",
  title: "cert-manager Certificates are Ready",
  category: "cluster",
  defaultSeverity: "warn",
  sources: ["audit"],
  description:
    "A cert-manager Certificate (cert-manager.io/v1) whose Ready condition is not True has no valid certificate in its Secret: it was never issued (a wrong issuer, a failed ACME challenge, a DNS name the issuer refuses), or its renewal failed and the old one runs out. Without cert-manager (Certificate not served) there is nothing to check.",
  remediation: `Find out why it is not issued, fix the issuer or the challenge, and have it re-issued:

\`\`\`sh
kubectl describe certificate web -n shop
kubectl get certificaterequests,orders,challenges -n shop
cmctl renew web -n shop
\`\`\``,
  needs: [],
  optional: ["Certificate"],
  namespaceScoped: true,
  run(snapshot) {
    const findings: ReportFinding[] = [];
    for (const certificate of list(snapshot, "Certificate")) {
      const ready = readyCondition(certificate.status);
      if (ready?.status === "True") continue;
      const ref = refOf(certificate);
      findings.push(
        finding(
          certificateNotReady,
          ref,
          "status.conditions[type=Ready]",
          `Certificate ${ref.namespace}/${ref.name} is not Ready: ${why(ready)}`,
          `kubectl describe certificate ${ref.name} -n ${ref.namespace}, fix its issuer, then cmctl renew ${ref.name} -n ${ref.namespace}`,
        ),
      );
    }
    return findings;
  },
};
