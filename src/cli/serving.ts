import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import type { Server as TlsServer } from "node:tls";
import type { V1NamedRuleWithOperations } from "@kubernetes/client-node";
import type { FastifyInstance } from "fastify";
import { type Logger, pino } from "pino";
import { buildApp, MAX_CONNECTIONS, MAX_CONNECTIONS_PER_PEER, type ServerTimeouts } from "../app.js";
import { DEFAULT_CONFIG, loadConfigFile } from "../config/load.js";
import type { Config, PodTemplateConfig } from "../config/schema.js";
import { type ConfigWatcher, watchConfig } from "../config/watch.js";
import type { Policy } from "../engine/policy.js";
import type { ClusterFactsHandle } from "../k8s/facts.js";
import type { StandingAudit } from "../k8s/standing.js";
import { policyResourceRules } from "../k8s/webhookConfig.js";
import { createMetrics, type Metrics } from "../metrics.js";
import { buildMetricsServer } from "../server/metricsServer.js";
import { ensureLocalCertificates } from "../tls/certs.js";
import { type CertificateManager, type Readiness, servingReadiness } from "../tls/manager.js";
import { swapCertificate } from "../tls/reload.js";
import { UsageError } from "./args.js";
import { compileServedPolicy } from "./policies.js";
import { type HeldPorts, listenFailure } from "./ports.js";
import { certsDirFailure, configFailure, readTlsPair } from "./startup.js";
import { logError, loggerOptions } from "../log.js";

/** `tollgate serve`'s options, checked by the command (src/cli/serve.ts). */
export interface ServeOptions {
  port: number;
  metricsPort: number;
  host: string;
  shutdownDelay: number;
  maxConnectionsPerPeer: string | undefined;
  config: string | undefined;
  logLevel: string | undefined;
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  certsDir: string | undefined;
  bootstrap: boolean;
  kubeconfig: string | undefined;
  context: string | undefined;
  webhookUrl: string | undefined;
  registerIntervalMs: number;
  /** The webhook's and the metrics endpoint's; the production values when absent (tests shorten them). */
  timeouts?: Partial<ServerTimeouts> | undefined;
}

/**
 * Log lines are gathered up to this many characters before they are written: one write for about
 * fifty decision lines instead of a synchronous one each.
 */
export const LOG_BUFFER_BYTES = 16 * 1024;
/** A line waits at most this long for others to fill the buffer, so that a quiet webhook still logs. */
export const LOG_FLUSH_INTERVAL_MS = 1_000;
/** At shutdown the last lines are given this long to reach stdout; a stdout nobody reads must not hold the exit. */
export const LOG_FLUSH_TIMEOUT_MS = 5_000;

/**
 * pino's stream: lines joined into one string here and handed to sonic-boom a buffer's worth at a
 * time. sonic-boom buffers too, but it measures the UTF-8 length of its whole pending string on
 * every write (1.3 µs of a Pod request's 72 at the server, `perf` on 2026-12-07); a string's
 * `length` is free, and sonic-boom then measures each chunk once: -3 % CPU per request side by
 * side (an array of lines, tried on 2026-12-06, had measured no gain; BENCHMARKS.md has both).
 */
export class LineGatherer {
  #pending = "";

  constructor(
    private readonly sink: { write(chunk: string): boolean; flush(done: (error?: Error) => void): void },
    private readonly limit = LOG_BUFFER_BYTES,
    intervalMs = LOG_FLUSH_INTERVAL_MS,
  ) {
    setInterval(() => this.drain(), intervalMs).unref();
  }

  write(line: string): boolean {
    this.#pending += line;
    if (this.#pending.length >= this.limit) this.drain();
    return true;
  }

  /** Hands what is gathered to the sink. */
  drain(): void {
    if (this.#pending === "") return;
    const chunk = this.#pending;
    this.#pending = "";
    this.sink.write(chunk);
  }

  /** pino's `logger.flush`: calls back once what was written before has reached the sink's file. */
  flush(done: (error?: Error) => void): void {
    this.drain();
    this.sink.flush(done);
  }
}

/**
 * The server's logger: pino writing to stdout asynchronously, buffered. `flushLog` resolves once
 * what was logged before it has been written (or after LOG_FLUSH_TIMEOUT_MS).
 */
function bufferedLogger(level: string): { logger: Logger; flushLog: () => Promise<void> } {
  const destination = pino.destination({
    dest: 1,
    sync: false,
    // Each chunk of the gatherer is written at once; what arrives while one is written waits.
    minLength: 0,
    maxWrite: 4 * LOG_BUFFER_BYTES,
  });
  const logger = pino(loggerOptions(level), new LineGatherer(destination));
  const flushLog = () =>
    new Promise<void>((flushed) => {
      const giveUp = setTimeout(flushed, LOG_FLUSH_TIMEOUT_MS);
      // fsync fails on a pipe; the lines were written all the same.
      logger.flush(() => {
        clearTimeout(giveUp);
        flushed();
      });
    });
  return { logger, flushLog };
}

/**
 * The server half of `tollgate serve`, once the command has checked its flags and holds both
 * ports (`held`): builds the app and the metrics server, binds them in place of the holders, and
 * with `--bootstrap` only then touches the cluster. Resolves with the exit code after a signal.
 */
export async function runServer(options: ServeOptions, held: HeldPorts): Promise<number> {
  const { port, metricsPort, host, shutdownDelay } = options;
  const perPeer = options.maxConnectionsPerPeer;
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
  const { logger, flushLog } = bufferedLogger(options.logLevel ?? process.env.LOG_LEVEL ?? "info");
  const configPath = options.config ? resolve(options.config) : undefined;
  // Rule ids are checked once the config's policies are known (compileServedPolicy).
  let config: Config;
  let policy: Policy;
  try {
    config = configPath ? loadConfigFile(configPath) : DEFAULT_CONFIG;
    policy = compileServedPolicy(config, configPath);
  } catch (error) {
    throw configFailure(error);
  }
  const metrics = createMetrics({ processMetrics: true });
  // The config read above is in force from now on (the built-in one too, when there is no file).
  metrics.configLastReload.setToCurrentTime();

  // Certificates that come from files are read before the ports; those from the cluster after them.
  let tls: { key: string; cert: string } | "later";
  let certificates: () => Readiness;
  if (options.bootstrap) {
    tls = "later";
    certificates = () => ({ ready: false, reason: "not registered in the webhook configuration yet" });
  } else if (options.tlsCert !== undefined && options.tlsKey !== undefined) {
    const pair = readTlsPair(options.tlsCert, options.tlsKey);
    tls = pair;
    certificates = () => servingReadiness(pair.cert, undefined, new Date());
  } else {
    const dir = resolve(options.certsDir ?? "certs");
    const local = await ensureLocalCertificates(dir).catch((error: unknown) => {
      throw certsDirFailure(dir, error);
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
  let standing: StandingAudit | undefined;
  const app = buildApp({
    https: tls,
    policy: () => policy,
    metrics,
    logger,
    readiness: () => (shuttingDown ? { ready: false, reason: "shutting down" } : certificates()),
    shuttingDown: () => shuttingDown,
    facts: () => facts?.facts,
    standing: () => standing?.picture,
    maxConnectionsPerPeer,
    timeouts: options.timeouts,
  });
  const metricsServer = buildMetricsServer(metrics, options.timeouts);

  // Both ports first, before the cluster is touched: a replica that cannot serve must not register
  // a fail-closed webhook that points at it (nor load the 75 MB Kubernetes client to find out).
  // The holders let go just before; another process can only take a port in that instant.
  await held.release();
  const bound = await bindPorts(app, metricsServer, { host, port, metricsPort });
  if (bound !== undefined) {
    const untouched = options.bootstrap ? " Nothing was written to the cluster." : "";
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
      rules: policy.registry.size,
    },
    "tollgate listening",
  );
  // Whoever starts tollgate (a test, an operator's terminal) waits for this line.
  void flushLog();

  const watcher: ConfigWatcher | undefined = configPath
    ? watchConfig({
        path: configPath,
        policies: config.policies,
        // Policies reload with the config, and the config with a change to a policy file; one that does not compile rejects the whole reload.
        apply: (next) => {
          policy = compileServedPolicy(next, configPath);
          // What a new policy selects reaches tollgate once its webhook rules say so: now, not
          // at the next registration check.
          manager?.register({ create: false }).catch((error: unknown) => {
            logger.error(
              { err: logError(error instanceof Error ? error.message : error) },
              "webhook registration after the reload failed; retrying at the next check",
            );
          });
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
      standing?.stop(),
    ]);
  let onSignal: { term: () => void; int: () => void } | undefined;
  const stopped = new Promise<number>((done) => {
    const stop = (signal: string) => {
      if (shuttingDown) return;
      shuttingDown = true;
      const delayMs = signal === "SIGTERM" ? shutdownDelay * 1000 : 0;
      logger.info({ signal, delayMs }, "shutting down: not ready, finishing in-flight requests");
      void flushLog();
      watcher?.close();
      manager?.stop();
      const drained = new Promise<void>((waited) => setTimeout(waited, delayMs)).then(closeAll);
      drained.then(
        () => {
          logger.info({ signal }, "stopped");
          return flushLog().then(() => done(0));
        },
        (error: unknown) => {
          logger.error({ err: logError(error) }, "shutdown failed");
          return flushLog().then(() => done(1));
        },
      );
    };
    // Installed before the bootstrap, so that a SIGTERM during it stops the registration too.
    // `on`, not `once`: a second SIGTERM during the delay must not kill the draining server.
    onSignal = { term: () => stop("SIGTERM"), int: () => stop("SIGINT") };
    process.on("SIGTERM", onSignal.term);
    process.once("SIGINT", onSignal.int);
  });

  if (options.bootstrap) {
    try {
      manager = await bootstrap({
        app,
        config,
        metrics,
        logger,
        kubeconfig: options.kubeconfig,
        context: options.context,
        url: options.webhookUrl,
        registerIntervalMs: options.registerIntervalMs,
        policyRules: () => policyResourceRules(policy.policies),
        podTemplates: () => policy.config.podTemplates,
        policy: () => policy,
        onFacts: (handle) => {
          facts = handle;
          // A signal during the start-up closed everything before the cache existed.
          if (shuttingDown) void handle.stop();
        },
        onStanding: (handle) => {
          standing = handle;
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

interface BootstrapOptions {
  app: FastifyInstance;
  config: Config;
  metrics: Metrics;
  logger: Logger;
  kubeconfig: string | undefined;
  context: string | undefined;
  url: string | undefined;
  registerIntervalMs: number;
  /** The resource rules of the policies served now; the webhook's rules follow them. */
  policyRules: () => readonly V1NamedRuleWithOperations[];
  /** The custom resources whose pod templates the config served now judges; the webhook's rules follow them. */
  podTemplates: () => readonly PodTemplateConfig[];
  /** The policy served now: the scanner judges with it. */
  policy: () => Policy;
  onFacts: (facts: ClusterFactsHandle) => void;
  /** The continuous audit, when `audit.enabled`. */
  onStanding: (standing: StandingAudit) => void;
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
  const [
    { CHECK_INTERVAL_MS, clusterCertificateManager },
    { loadKubeConfig },
    { startClusterFacts },
    { startStandingAudit },
  ] = await Promise.all([
    import("../k8s/certificates.js"),
    import("../k8s/client.js"),
    import("../k8s/facts.js"),
    import("../k8s/standing.js"),
  ]);
  const kubeConfig = loadKubeConfig({ kubeconfig: options.kubeconfig, context: options.context });
  // The cache feeds networkpolicy-missing and pdb-missing; they stay silent until it syncs.
  options.onFacts(await startClusterFacts(kubeConfig, logger));
  // The standing picture: never awaited here, the admission path does not wait on it.
  if (config.audit.enabled) {
    options.onStanding(
      startStandingAudit({
        kubeConfig,
        policy: options.policy,
        metrics: metrics.audit,
        log: logger,
        namespace: config.webhook.namespace,
      }),
    );
  }
  const manager = clusterCertificateManager({
    config,
    kubeConfig,
    url: options.url,
    failurePolicy: config.webhook.failurePolicy,
    policyRules: options.policyRules,
    podTemplates: options.podTemplates,
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
