import { parseCommandArgs, portFrom, UsageError } from "./args.js";
import { holdPorts } from "./ports.js";
import type { ServeOptions } from "./serving.js";

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
on every entry but the one for plain Namespace writes, which stays Ignore (the shipped
configuration fails open, Ignore everywhere, until then). /readyz answers 503 until then. Every
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

/** What tests may pass beside the command line: server timeouts (the production values when absent). */
export interface ServeExtras {
  timeouts?: ServeOptions["timeouts"];
}

export async function serve(argv: string[], extras: ServeExtras = {}): Promise<number> {
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

  const options: ServeOptions = {
    port,
    metricsPort,
    host,
    shutdownDelay,
    maxConnectionsPerPeer: values["max-connections-per-peer"],
    config: values.config,
    logLevel: values["log-level"],
    tlsCert: values["tls-cert"],
    tlsKey: values["tls-key"],
    certsDir: values["certs-dir"],
    bootstrap: values.bootstrap === true,
    kubeconfig: values.kubeconfig,
    context: values.context,
    webhookUrl: values["webhook-url"],
    registerIntervalMs: checkSeconds * 1000,
    timeouts: extras.timeouts,
  };
  // Both ports are held before the server's modules load (fastify, the rules, the certificate
  // tools: most of a second on a busy machine), so that a taken port ends the command at once.
  const held = await holdPorts(host, [
    { port, flag: "port" },
    { port: metricsPort, flag: "metrics-port" },
  ]);
  if (typeof held === "string") {
    const untouched = options.bootstrap ? " Nothing was written to the cluster." : "";
    process.stderr.write(`tollgate serve: ${held}${untouched}\n`);
    return 1;
  }
  try {
    const { runServer } = await import("./serving.js");
    return await runServer(options, held);
  } finally {
    await held.release();
  }
}
