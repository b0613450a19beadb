import { readFileSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import type { Server as TlsServer } from "node:tls";
import type { FastifyInstance } from "fastify";
import { type Logger, pino } from "pino";
import { buildApp, MAX_CONNECTIONS, MAX_CONNECTIONS_PER_PEER } from "../app.js";
import { DEFAULT_CONFIG, loadConfigFile } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { type ConfigWatcher, watchConfig } from "../config/watch.js";
import { compilePolicy, type Policy } from "../engine/policy.js";
import type { ClusterFactsHandle } from "../k8s/facts.js";
import { createMetrics, type Metrics } from "../metrics.js";
import { RULES } from "../rules/index.js";
import { buildMetricsServer } from "../server/metricsServer.js";
import { CertificatesRefused, ensureLocalCertificates } from "../tls/certs.js";
import { type CertificateManager, type Readiness, servingReadiness } from "../tls/manager.js";
import { swapCertificate } from "../tls/reload.js";
import { parseCommandArgs, portFrom, UsageError } from "./args.js";

export const SERVE_HELP = `Usage: tollgate serve [--config FILE] [--port 8443] [--metrics-port 9090] [--host 0.0.0.0]
                      [--tls-cert FILE --tls-key FILE | --certs-dir DIR |
                       --bootstrap [--kubeconfig FILE] [--context NAME] [--webhook-url URL]
                                   [--webhook-check-interval SECONDS]]
                      [--shutdown-delay SECONDS] [--max-connections-per-peer 512]

Runs the admission webhook over HTTPS (POST /validate, /validate/enforce, /validate/warn;
GET /healthz, /readyz) and Prometheus metrics over HTTP (GET /metrics on --metrics-port).
Without --tls-cert/--tls-key it uses, or creates, a CA and serving certificate in --certs-dir
(default ./certs). The config file is reloaded when it changes; an invalid one is rejected.

Both ports are bound first: when one cannot be, serve exits 1 at once, before it touches a cluster.

--bootstrap (in a cluster): take the CA and serving certificate from the Secret tollgate-certs
in the config's webhook.namespace (creating them when absent), serve with it, and only then
register in the ValidatingWebhookConfiguration: its caBundle and the config's webhook.failurePolicy
on every entry (the shipped configuration fails open, Ignore, until then). Every
--webhook-check-interval seconds (default 60) the registration is checked and put back when it
differs (a re-applied manifest resets failurePolicy to Ignore); hourly, the certificates are checked
for renewal and CA rotation, and a new one is served without a restart. A running tollgate never
re-creates a configuration that was deleted. --webhook-url makes the apiserver call that URL
instead of the Service (out-of-cluster use); the certificate then also names its host.

On SIGTERM, /readyz answers 503 at once and every answer says Connection: close, while requests
are still served for --shutdown-delay seconds (default 0; give Kubernetes time to take the pod out
of the endpoints, and clients time to move off their connections); then the server stops
accepting connections, answers every request in flight and exits 0.

--max-connections-per-peer: open connections at most from one source address (default 512 of
2048 in all), so that one client cannot lock out the apiserver; near the global cap the
connection idle longest of another peer is closed for a new one.`;

function readPem(flag: string, path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new UsageError(`--${flag} ${path}: ${(error as NodeJS.ErrnoException).code ?? "cannot read"}`);
  }
}

export async function serve(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs("serve", argv, {
    config: { type: "string" },
    port: { type: "string" },
    "metrics-port": { type: "string" },
    host: { type: "string" },
    "tls-cert": { type: "string" },
    "tls-key": { type: "string" },
    "certs-dir": { type: "string" },
    bootstrap: { type: "boolean" },
    kubeconfig: { type: "string" },
    context: { type: "string" },
    "webhook-url": { type: "string" },
    "webhook-check-interval": { type: "string" },
    "log-level": { type: "string" },
    "shutdown-delay": { type: "string" },
    "max-connections-per-peer": { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    process.stdout.write(`${SERVE_HELP}\n`);
    return 0;
  }
  const port = portFrom("port", values.port, 8443);
  const metricsPort = portFrom("metrics-port", values["metrics-port"], 9090);
  const host = values.host ?? "0.0.0.0";
  const shutdownDelay = Number(values["shutdown-delay"] ?? 0);
  if (!Number.isFinite(shutdownDelay) || shutdownDelay < 0 || shutdownDelay > 300) {
    throw new UsageError(
      `--shutdown-delay must be a number of seconds from 0 to 300, got ${JSON.stringify(values["shutdown-delay"])}`,
    );
  }
  const perPeer = values["max-connections-per-peer"];
  const maxConnectionsPerPeer = Number(perPeer ?? MAX_CONNECTIONS_PER_PEER);
  if (
    !Number.isInteger(maxConnectionsPerPeer) ||
    maxConnectionsPerPeer < 1 ||
    maxConnectionsPerPeer > MAX_CONNECTIONS
  ) {
    throw new UsageError(
      `--max-connections-per-peer must be a whole number from 1 to ${MAX_CONNECTIONS}, got ${JSON.stringify(perPeer)}`,
    );
  }
  if ((values["tls-cert"] === undefined) !== (values["tls-key"] === undefined)) {
    throw new UsageError("--tls-cert and --tls-key go together");
  }
  if (values["tls-cert"] !== undefined && values["certs-dir"] !== undefined) {
    throw new UsageError("give either --tls-cert/--tls-key or --certs-dir, not both");
  }
  if (values.bootstrap && (values["tls-cert"] !== undefined || values["certs-dir"] !== undefined)) {
    throw new UsageError("--bootstrap takes its certificates from the cluster: drop --tls-cert/--certs-dir");
  }
  const checkInterval = values["webhook-check-interval"];
  const checkSeconds = Number(checkInterval ?? 60);
  if (!Number.isInteger(checkSeconds) || checkSeconds < 1 || checkSeconds > 3600) {
    throw new UsageError(
      `--webhook-check-interval must be a whole number of seconds from 1 to 3600, got ${JSON.stringify(checkInterval)}`,
    );
  }
  for (const flag of ["kubeconfig", "context", "webhook-url", "webhook-check-interval"] as const) {
    if (values[flag] !== undefined && !values.bootstrap)
      throw new UsageError(`--${flag} goes with --bootstrap`);
  }

  const logger = pino({
    level: values["log-level"] ?? process.env.LOG_LEVEL ?? "info",
    base: { service: "tollgate" },
  });
  const knownRules = new Set(RULES.keys());
  const configPath = values.config ? resolve(values.config) : undefined;
  const config: Config = configPath ? loadConfigFile(configPath, knownRules) : DEFAULT_CONFIG;
  let policy: Policy = compilePolicy(config);
  const metrics = createMetrics({ processMetrics: true });

  // Certificates that come from files are read before the ports; those from the cluster after them.
  let tls: { key: string; cert: string } | "later";
  let certificates: () => Readiness;
  if (values.bootstrap) {
    tls = "later";
    certificates = () => ({ ready: false, reason: "not registered in the webhook configuration yet" });
  } else if (values["tls-cert"] !== undefined && values["tls-key"] !== undefined) {
    const pair = {
      cert: readPem("tls-cert", values["tls-cert"]),
      key: readPem("tls-key", values["tls-key"]),
    };
    tls = pair;
    certificates = () => servingReadiness(pair.cert, undefined, new Date());
  } else {
    const dir = resolve(values["certs-dir"] ?? "certs");
    const local = await ensureLocalCertificates(dir).catch((error: unknown) => {
      throw error instanceof CertificatesRefused ? new UsageError(error.message) : error;
    });
    tls = local.serving;
    const verb =
      local.created.length > 0 ? `created ${local.created.join(", ")} in` : "using certificates in";
    const why = local.renewed === undefined ? "" : ` (renewed: ${local.renewed})`;
    process.stderr.write(`tollgate: ${verb} ${dir}${why} (CA: ${dir}/ca.crt)\n`);
    const { cert } = local.serving;
    const ca = local.ca.cert;
    certificates = () => servingReadiness(cert, ca, new Date());
  }

  let shuttingDown = false;
  let facts: ClusterFactsHandle | undefined;
  const app = buildApp({
    https: tls,
    policy: () => policy,
    metrics,
    logger,
    readiness: () => (shuttingDown ? { ready: false, reason: "shutting down" } : certificates()),
    shuttingDown: () => shuttingDown,
    facts: () => facts?.facts,
    maxConnectionsPerPeer,
  });
  const metricsServer = buildMetricsServer(metrics);

  // Both ports first, before the cluster is touched: a replica that cannot serve must not register
  // a fail-closed webhook that points at it (nor load the 75 MB Kubernetes client to find out).
  const bound = await bindPorts(app, metricsServer, { host, port, metricsPort });
  if (bound !== undefined) {
    const untouched = values.bootstrap ? " Nothing was written to the cluster." : "";
    process.stderr.write(`tollgate serve: ${bound}${untouched}\n`);
    return 1;
  }
  const address = app.server.address() as AddressInfo;
  const metricsAddress = metricsServer.address() as AddressInfo;
  logger.info(
    {
      port: address.port,
      metricsPort: metricsAddress.port,
      mode: policy.config.defaultMode,
      rules: RULES.size,
    },
    "tollgate listening",
  );

  const watcher: ConfigWatcher | undefined = configPath
    ? watchConfig({
        path: configPath,
        knownRules,
        apply: (next) => {
          policy = compilePolicy(next);
        },
        metrics,
        log: logger,
      })
    : undefined;

  let manager: CertificateManager | undefined;
  const closeAll = () =>
    Promise.all([
      app.close(),
      new Promise<void>((closed) => metricsServer.close(() => closed())),
      facts?.stop(),
    ]);
  let onSignal: { term: () => void; int: () => void } | undefined;
  const stopped = new Promise<number>((done) => {
    const stop = (signal: string) => {
      if (shuttingDown) return;
      shuttingDown = true;
      const delayMs = signal === "SIGTERM" ? shutdownDelay * 1000 : 0;
      logger.info({ signal, delayMs }, "shutting down: not ready, finishing in-flight requests");
      watcher?.close();
      manager?.stop();
      const drained = new Promise<void>((waited) => setTimeout(waited, delayMs)).then(closeAll);
      drained.then(
        () => {
          logger.info({ signal }, "stopped");
          done(0);
        },
        (error: unknown) => {
          logger.error({ err: String(error) }, "shutdown failed");
          done(1);
        },
      );
    };
    // Installed before the bootstrap, so that a SIGTERM during it stops the registration too.
    // `on`, not `once`: a second SIGTERM during the delay must not kill the draining server.
    onSignal = { term: () => stop("SIGTERM"), int: () => stop("SIGINT") };
    process.on("SIGTERM", onSignal.term);
    process.once("SIGINT", onSignal.int);
  });

  if (values.bootstrap) {
    try {
      manager = await bootstrap({
        app,
        config,
        metrics,
        logger,
        kubeconfig: values.kubeconfig,
        context: values.context,
        url: values["webhook-url"],
        registerIntervalMs: checkSeconds * 1000,
        onFacts: (handle) => {
          facts = handle;
          // A signal during the start-up closed everything before the cache existed.
          if (shuttingDown) void handle.stop();
        },
        stopping: () => shuttingDown,
      });
    } catch (error) {
      shuttingDown = true;
      if (onSignal) {
        process.off("SIGTERM", onSignal.term);
        process.off("SIGINT", onSignal.int);
      }
      watcher?.close();
      await closeAll();
      throw error;
    }
    if (manager) {
      const registered = manager;
      certificates = () => registered.readiness();
    }
  }
  return stopped;
}

/**
 * Listen on both ports; on failure close whatever was bound and return the message that names the
 * port, its flag and what to do.
 */
async function bindPorts(
  app: FastifyInstance,
  metricsServer: Server,
  where: { host: string; port: number; metricsPort: number },
): Promise<string | undefined> {
  const { host, port, metricsPort } = where;
  try {
    await app.listen({ port, host });
  } catch (error) {
    await app.close();
    return listenFailure(error, host, port, "port");
  }
  try {
    await new Promise<void>((done, fail) => {
      metricsServer.once("error", fail);
      metricsServer.listen(metricsPort, host, () => {
        metricsServer.off("error", fail);
        done();
      });
    });
  } catch (error) {
    await app.close();
    return listenFailure(error, host, metricsPort, "metrics-port");
  }
  return undefined;
}

function listenFailure(error: unknown, host: string, port: number, flag: string): string {
  const code = (error as NodeJS.ErrnoException).code;
  const where = `cannot listen on ${host}:${port} (--${flag})`;
  switch (code) {
    case "EADDRINUSE":
      return `${where}: the port is already in use (EADDRINUSE); stop what holds it or choose another --${flag}.`;
    case "EACCES":
      return `${where}: permission denied (EACCES); ports below 1024 need privileges, choose another --${flag}.`;
    case "EADDRNOTAVAIL":
      return `${where}: ${host} is not an address of this machine (EADDRNOTAVAIL); check --host.`;
    default:
      return `${where}: ${error instanceof Error ? error.message : String(error)}.`;
  }
}

interface BootstrapOptions {
  app: FastifyInstance;
  config: Config;
  metrics: Metrics;
  logger: Logger;
  kubeconfig: string | undefined;
  context: string | undefined;
  url: string | undefined;
  registerIntervalMs: number;
  onFacts: (facts: ClusterFactsHandle) => void;
  /** True once a signal asked the process to stop: it must not register after that. */
  stopping: () => boolean;
}

/**
 * The cluster half of `serve --bootstrap`, once both ports are held: the certificate Secret is read
 * (or created) and its leaf served; only then, and only when the served certificate chains to the
 * bundle it publishes, is tollgate registered (caBundle and failurePolicy) in the webhook
 * configuration. Until then the shipped configuration fails open. Undefined when stopped meanwhile.
 */
async function bootstrap(options: BootstrapOptions): Promise<CertificateManager | undefined> {
  const { app, config, metrics, logger } = options;
  // The Kubernetes client costs about 75 MB of memory: load it only when the cluster is used.
  const [{ CHECK_INTERVAL_MS, clusterCertificateManager }, { loadKubeConfig }, { startClusterFacts }] =
    await Promise.all([
      import("../k8s/certificates.js"),
      import("../k8s/client.js"),
      import("../k8s/facts.js"),
    ]);
  const kubeConfig = loadKubeConfig({ kubeconfig: options.kubeconfig, context: options.context });
  // The cache feeds networkpolicy-missing and pdb-missing; they stay silent until it syncs.
  options.onFacts(await startClusterFacts(kubeConfig, logger));
  const manager = clusterCertificateManager({
    config,
    kubeConfig,
    url: options.url,
    failurePolicy: config.webhook.failurePolicy,
    metrics,
    logger,
  });
  manager.onChange((pair) => swapCertificate(app.server as unknown as TlsServer, pair));
  await manager.reconcile(undefined, { publish: false });
  if (options.stopping()) return undefined;
  const result = await manager.register();
  logger.info(
    { webhook: config.webhook.name, failurePolicy: config.webhook.failurePolicy, result },
    "registered in the webhook configuration",
  );
  if (options.stopping()) return undefined;
  manager.start({ checkIntervalMs: CHECK_INTERVAL_MS, registerIntervalMs: options.registerIntervalMs });
  return manager;
}
