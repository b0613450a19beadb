import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import type { Server as TlsServer } from "node:tls";
import { pino } from "pino";
import { buildApp, MAX_CONNECTIONS, MAX_CONNECTIONS_PER_PEER, type ServerTimeouts } from "../app.js";
import { DEFAULT_CONFIG, loadConfigFile } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { type ConfigWatcher, watchConfig } from "../config/watch.js";
import { compilePolicy, type Policy } from "../engine/policy.js";
import type { ClusterFactsHandle } from "../k8s/facts.js";
import { createMetrics } from "../metrics.js";
import { RULES } from "../rules/index.js";
import { buildMetricsServer } from "../server/metricsServer.js";
import { CertificatesRefused, ensureLocalCertificates } from "../tls/certs.js";
import { type CertificateManager, servingReadiness } from "../tls/manager.js";
import { swapCertificate } from "../tls/reload.js";
import { parseCommandArgs, portFrom, UsageError } from "./args.js";

export const SERVE_HELP = `Usage: tollgate serve [--config FILE] [--port 8443] [--metrics-port 9090] [--host 0.0.0.0]
                      [--tls-cert FILE --tls-key FILE | --certs-dir DIR |
                       --bootstrap [--kubeconfig FILE] [--context NAME] [--webhook-url URL]]
                      [--shutdown-delay SECONDS] [--max-connections-per-peer 512]

Runs the admission webhook over HTTPS (POST /validate, /validate/enforce, /validate/warn;
GET /healthz, /readyz) and Prometheus metrics over HTTP (GET /metrics on --metrics-port).
Without --tls-cert/--tls-key it uses, or creates, a CA and serving certificate in --certs-dir
(default ./certs). The config file is reloaded when it changes; an invalid one is rejected.

--bootstrap (in a cluster): take the CA and serving certificate from the Secret tollgate-certs
in the config's webhook.namespace (creating them when absent), publish the CA in the caBundle of
the ValidatingWebhookConfiguration, check hourly for renewal and CA rotation, and swap the served
certificate without a restart. --webhook-url makes the apiserver call that URL instead of the
Service (out-of-cluster use); the certificate then also names its host.

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

export interface ServeOptions {
  /** The webhook's and the metrics endpoint's; the production values when absent (tests shorten them). */
  timeouts?: Partial<ServerTimeouts>;
}

export async function serve(argv: string[], options: ServeOptions = {}): Promise<number> {
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
  for (const flag of ["kubeconfig", "context", "webhook-url"] as const) {
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

  let tls: { key: string; cert: string };
  let certificates: () => ReturnType<typeof servingReadiness>;
  let manager: CertificateManager | undefined;
  let facts: ClusterFactsHandle | undefined;
  let checkIntervalMs = 0;
  if (values.bootstrap) {
    // The Kubernetes client costs about 75 MB of memory: load it only when the cluster is used.
    const [{ CHECK_INTERVAL_MS, clusterCertificateManager }, { loadKubeConfig }, { startClusterFacts }] =
      await Promise.all([
        import("../k8s/certificates.js"),
        import("../k8s/client.js"),
        import("../k8s/facts.js"),
      ]);
    checkIntervalMs = CHECK_INTERVAL_MS;
    const kubeConfig = loadKubeConfig({ kubeconfig: values.kubeconfig, context: values.context });
    // The cache feeds networkpolicy-missing and pdb-missing; they stay silent until it syncs.
    facts = await startClusterFacts(kubeConfig, logger);
    manager = clusterCertificateManager({
      config,
      kubeConfig,
      url: values["webhook-url"],
      metrics,
      logger,
    });
    await manager.reconcile();
    tls = manager.current;
    const bootstrapped = manager;
    certificates = () => bootstrapped.readiness();
  } else if (values["tls-cert"] !== undefined && values["tls-key"] !== undefined) {
    tls = { cert: readPem("tls-cert", values["tls-cert"]), key: readPem("tls-key", values["tls-key"]) };
    const cert = tls.cert;
    certificates = () => servingReadiness(cert, undefined, new Date());
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
  const app = buildApp({
    https: tls,
    policy: () => policy,
    metrics,
    logger,
    readiness: () => (shuttingDown ? { ready: false, reason: "shutting down" } : certificates()),
    shuttingDown: () => shuttingDown,
    facts: facts ? () => facts.facts : undefined,
    maxConnectionsPerPeer,
    timeouts: options.timeouts,
  });
  const metricsServer = buildMetricsServer(metrics, options.timeouts);

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

  if (manager) {
    manager.onChange((pair) => swapCertificate(app.server as unknown as TlsServer, pair));
    manager.start(checkIntervalMs);
  }
  await app.listen({ port, host });
  await new Promise<void>((done, fail) => {
    metricsServer.once("error", fail);
    metricsServer.listen(metricsPort, host, () => done());
  });
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

  return new Promise<number>((done) => {
    const stop = (signal: string) => {
      if (shuttingDown) return;
      shuttingDown = true;
      const delayMs = signal === "SIGTERM" ? shutdownDelay * 1000 : 0;
      logger.info({ signal, delayMs }, "shutting down: not ready, finishing in-flight requests");
      watcher?.close();
      manager?.stop();
      void facts?.stop();
      const drained = new Promise<void>((waited) => setTimeout(waited, delayMs)).then(() =>
        Promise.all([app.close(), new Promise<void>((closed) => metricsServer.close(() => closed()))]),
      );
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
    // `on`, not `once`: a second SIGTERM during the delay must not kill the draining server.
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
}
