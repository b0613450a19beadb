import { buildRegistry } from "../../rules/index.js";
import { alertsMissing } from "./alerts-missing.js";
import { apiserverFlagsInsecure } from "./apiserver-flags-insecure.js";
import { autoscalerMissing } from "./autoscaler-missing.js";
import { backupScheduleMissing } from "./backup-schedule-missing.js";
import { certificateNotReady } from "./certificate-not-ready.js";
import { clusterAdminBinding } from "./cluster-admin-binding.js";
import { helmReleaseHygiene } from "./helm-release-hygiene.js";
import { monitoringMissing } from "./monitoring-missing.js";
import { namespaceDefaultDenyMissing } from "./namespace-default-deny-missing.js";
import { namespaceDnsEgressMissing } from "./namespace-dns-egress-missing.js";
import { namespaceLimitrangeMissing } from "./namespace-limitrange-missing.js";
import { namespacePssEnforceMissing } from "./namespace-pss-enforce-missing.js";
import { namespaceResourcequotaMissing } from "./namespace-resourcequota-missing.js";
import { secretsReaders } from "./secrets-readers.js";
import { serverVersionUnsupported } from "./server-version-unsupported.js";
import { tlsSecretExpiring } from "./tls-secret-expiring.js";
import { tlsSecretShortLived } from "./tls-secret-short-lived.js";
import { tollgateWebhookCertExpiring } from "./tollgate-webhook-cert-expiring.js";
import { tollgateWebhookMissing } from "./tollgate-webhook-missing.js";
import type { Check } from "./types.js";
import { workloadNodePoolMissing } from "./workload-node-pool-missing.js";
import { workloadOnSystemNodes } from "./workload-on-system-nodes.js";
import { workloadPdbMissing } from "./workload-pdb-missing.js";

/** Every check of the audit's cluster checklist, in the order the audit runs and reports them. */
export const ALL_CHECKS: readonly Check[] = [
  clusterAdminBinding,
  namespaceDefaultDenyMissing,
  namespaceDnsEgressMissing,
  namespaceLimitrangeMissing,
  namespaceResourcequotaMissing,
  namespacePssEnforceMissing,
  workloadPdbMissing,
  workloadOnSystemNodes,
  workloadNodePoolMissing,
  secretsReaders,
  apiserverFlagsInsecure,
  helmReleaseHygiene,
  backupScheduleMissing,
  autoscalerMissing,
  monitoringMissing,
  alertsMissing,
  tlsSecretExpiring,
  tlsSecretShortLived,
  certificateNotReady,
  serverVersionUnsupported,
  tollgateWebhookMissing,
  tollgateWebhookCertExpiring,
];

export const CHECKS = buildRegistry(ALL_CHECKS, "check");
