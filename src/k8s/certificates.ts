import { isIP } from "node:net";
import {
  AdmissionregistrationV1Api,
  CoreV1Api,
  type KubeConfig,
  type V1NamedRuleWithOperations,
  type V1ValidatingWebhookConfiguration,
} from "@kubernetes/client-node";
import type { Config, PodTemplateConfig } from "../config/schema.js";
import type { Metrics } from "../metrics.js";
import { CertificateManager, type CertLogger } from "../tls/manager.js";
import { DEFAULT_ROTATION, type Hosts, serviceHosts } from "../tls/rotation.js";
import { type EntryPolicies, type EntryRules, WebhookCaBundle } from "./caBundle.js";
import { KubeSecretStore } from "./certSecret.js";
import { buildWebhookConfiguration, type ClientTarget } from "./webhookConfig.js";

/** How often a running replica re-reads the Secret and the caBundle; a CA rotation phase is 24 of these. */
export const CHECK_INTERVAL_MS = 60 * 60 * 1000;
/**
 * How often a running replica checks its registration (caBundle and failurePolicy). A re-applied
 * manifest or `helm upgrade` puts the shipped `failurePolicy: Ignore` back; this bounds how long the
 * webhook stays fail-open after that, for the cost of one GET a minute.
 */
export const REGISTER_INTERVAL_MS = 60 * 1000;

export interface ClusterCertificateOptions {
  config: Config;
  kubeConfig: KubeConfig;
  /** Base URL the apiserver calls instead of the Service (local and out-of-cluster serving). */
  url?: string | undefined;
  /**
   * The failurePolicy tollgate registers with, beside the caBundle (`serve`: the config's). Absent
   * (`tollgate certs`, which runs where tollgate may not be serving), the entries keep theirs, and a
   * configuration created here fails open (`Ignore`) until a running tollgate registers.
   */
  failurePolicy?: Config["webhook"]["failurePolicy"];
  /**
   * The resource rules of the ValidatingAdmissionPolicies being served, read at each registration
   * (`serve`: they change with a reload). When given, the entries' rules are kept those of the
   * builder, so that what the policies select reaches tollgate; absent, the rules are left alone.
   */
  policyRules?: () => readonly V1NamedRuleWithOperations[];
  /**
   * The custom resources whose pod templates are judged now, read at each registration (`serve`:
   * they change with a reload); the entries' rules are then kept the builder's, as for `policyRules`.
   */
  podTemplates?: () => readonly PodTemplateConfig[];
  metrics?: Metrics;
  logger?: CertLogger;
  clock?: () => Date;
}

/** The Service's names, plus the URL's host when the apiserver calls tollgate by URL. */
export function hostsFor(config: Config, url?: string): Hosts {
  const hosts = serviceHosts(config.webhook.service, config.webhook.namespace);
  if (!url) return hosts;
  const host = new URL(url).hostname.replace(/^\[(.*)\]$/, "$1");
  return isIP(host)
    ? { dnsNames: hosts.dnsNames, ipAddresses: [...hosts.ipAddresses, host] }
    : { dnsNames: [...hosts.dnsNames, host], ipAddresses: hosts.ipAddresses };
}

/** The failurePolicy of each entry of `configuration`; `fallback` for an entry it does not have. */
export function entryPolicies(
  configuration: V1ValidatingWebhookConfiguration,
  fallback: Config["webhook"]["failurePolicy"],
): EntryPolicies {
  const byName = new Map((configuration.webhooks ?? []).map((w) => [w.name, w.failurePolicy]));
  return (name) => {
    const policy = byName.get(name);
    return policy === "Fail" || policy === "Ignore" ? policy : fallback;
  };
}

/** The rules of each entry of `configuration`, by the entry's name. */
export function entryRules(configuration: V1ValidatingWebhookConfiguration): EntryRules {
  return new Map((configuration.webhooks ?? []).map((webhook) => [webhook.name, webhook.rules ?? []]));
}

/**
 * A CertificateManager wired to the cluster: the Secret `tollgate-certs` in tollgate's namespace,
 * and the caBundle of the ValidatingWebhookConfiguration named in the config (created from the
 * builder when it does not exist).
 */
export function clusterCertificateManager(options: ClusterCertificateOptions): CertificateManager {
  const { config, kubeConfig, url, failurePolicy, policyRules, podTemplates } = options;
  const clientConfig: ClientTarget | undefined = url ? { url } : undefined;
  const built: Config = {
    ...config,
    webhook: { ...config.webhook, failurePolicy: failurePolicy ?? "Ignore" },
  };
  const build = (caBundle?: string) =>
    buildWebhookConfiguration(built, {
      ...(caBundle === undefined ? {} : { caBundle }),
      ...(clientConfig ? { clientConfig } : {}),
      ...(policyRules ? { policyRules: policyRules() } : {}),
      ...(podTemplates ? { podTemplates: podTemplates() } : {}),
    });
  // Per entry, as the builder sets them: the `namespaces` entry stays fail-open whatever the config.
  const policies = failurePolicy === undefined ? undefined : entryPolicies(build(), failurePolicy);
  const rules =
    policyRules === undefined && podTemplates === undefined ? undefined : () => entryRules(build());
  return new CertificateManager({
    store: new KubeSecretStore(kubeConfig.makeApiClient(CoreV1Api), config.webhook.namespace),
    publisher: new WebhookCaBundle(
      kubeConfig.makeApiClient(AdmissionregistrationV1Api),
      config.webhook.name,
      (caBundle) => build(caBundle),
      policies,
      rules,
    ),
    policy: { ...DEFAULT_ROTATION, hosts: hostsFor(config, url) },
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
}
