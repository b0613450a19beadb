import type { Server } from "node:http";
import { type ServerTimeouts, serverTimeouts } from "../app.js";
import { createMetricsServer, type Metrics } from "../metrics.js";
import { guardConnections } from "./connections.js";

/** Prometheus keeps one connection per target; a few scrapers and a port-forward fit many times over. */
export const METRICS_MAX_CONNECTIONS = 64;
export const METRICS_MAX_CONNECTIONS_PER_PEER = 16;

/**
 * The metrics endpoint with the webhook's header and request timeouts (node's defaults, 60 s and
 * 300 s checked every 30 s, let slow clients hold a socket for minutes) and a cap on connections,
 * per peer and in all. Of `timeouts` (as buildApp takes them) only the header, request, checking
 * interval and drain ones apply here.
 */
export function buildMetricsServer(metrics: Metrics, timeouts: Partial<ServerTimeouts> = {}): Server {
  const { headersTimeout, requestTimeout, connectionsCheckingInterval, drainTimeoutMs } =
    serverTimeouts(timeouts);
  const server = createMetricsServer(metrics, {
    headersTimeout,
    requestTimeout,
    connectionsCheckingInterval,
  });
  guardConnections(server, {
    maxConnections: METRICS_MAX_CONNECTIONS,
    maxConnectionsPerPeer: METRICS_MAX_CONNECTIONS_PER_PEER,
    // A scrape is a GET, which clients retry on a fresh connection: no grace at shutdown.
    closeIdleGraceMs: 0,
    drainTimeoutMs,
    onDrop: (reason) => metrics.connectionsDropped.inc({ server: "metrics", reason }),
  });
  return server;
}
