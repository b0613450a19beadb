import { resolve } from "node:path";
import { pino } from "pino";
import { DEFAULT_CONFIG, loadConfigFile } from "../config/load.js";
import { clusterCertificateManager } from "../k8s/certificates.js";
import { RULES } from "../rules/index.js";
import { bundleCertificates, expiryOf } from "../tls/rotation.js";
import { parseCommandArgs, UsageError } from "./args.js";
import { kubeConfigFrom } from "./kubeconfig.js";

export const CERTS_HELP = `Usage: tollgate certs bootstrap|rotate [--config FILE] [--kubeconfig FILE] [--context NAME]
                     [--url URL] [--ca]

bootstrap  make sure the Secret tollgate-certs holds a CA and a serving certificate, and that the
           ValidatingWebhookConfiguration trusts that CA (created from the config when absent,
           fail-open). It leaves failurePolicy as it is: only a running tollgate that serves the
           certificate sets it. Renews what is due, like a running replica does every hour.
rotate     the same, and renew the serving certificate now; with --ca, start a CA rotation
           (the new CA is published beside the old one, signs from a day later, and the old one
           is dropped a day after that: run rotate again, or let tollgate serve do it).

--config      tollgate's config (webhook.name, webhook.namespace, webhook.service…)
--url         base URL the apiserver calls instead of the Service, e.g. https://127.0.0.1:8443
--kubeconfig  the cluster to talk to (default: KUBECONFIG, ~/.kube/config, or in-cluster)`;

export async function certs(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    "certs",
    argv,
    {
      config: { type: "string" },
      kubeconfig: { type: "string" },
      context: { type: "string" },
      url: { type: "string" },
      ca: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    true,
  );
  if (values.help) {
    process.stdout.write(`${CERTS_HELP}\n`);
    return 0;
  }
  const [action, ...extra] = positionals;
  if (action !== "bootstrap" && action !== "rotate") {
    throw new UsageError(
      `tollgate certs: give bootstrap or rotate${action === undefined ? "" : `, not ${JSON.stringify(action)}`}\n\n${CERTS_HELP}`,
    );
  }
  if (extra.length > 0)
    throw new UsageError(`tollgate certs ${action}: unexpected ${JSON.stringify(extra[0])}`);
  if (values.ca && action !== "rotate") throw new UsageError("--ca goes with tollgate certs rotate");
  if (values.url !== undefined && !/^https:\/\/[^/]+\/?$/.test(values.url)) {
    throw new UsageError(`--url ${JSON.stringify(values.url)} must be https://HOST[:PORT], without a path`);
  }

  const config = values.config
    ? loadConfigFile(resolve(values.config), new Set(RULES.keys()))
    : DEFAULT_CONFIG;
  const kubeConfig = kubeConfigFrom({ kubeconfig: values.kubeconfig, context: values.context }, process.env);
  const manager = clusterCertificateManager({
    config,
    kubeConfig,
    url: values.url,
    logger: pino({ level: "silent" }),
  });
  const force = action === "rotate" ? (values.ca ? "ca" : "leaf") : undefined;
  const result = await manager.reconcile(force);

  const { namespace, name } = config.webhook;
  const out = process.stdout;
  for (const step of result.steps) out.write(`${step.action}: ${step.reason}\n`);
  if (result.steps.length === 0) out.write("no change: the certificates are valid\n");
  out.write(
    `Secret ${namespace}/tollgate-certs: serving certificate expires ${expiryOf(manager.current.cert).toISOString()}\n`,
  );
  out.write(
    `ValidatingWebhookConfiguration ${name}: caBundle ${result.published ? "published" : "up to date"} (${bundleCertificates(result.bundle).length} CA)\n`,
  );
  out.write(`next: ${result.waiting}\n`);
  return 0;
}
