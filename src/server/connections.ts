import type { IncomingMessage, Server as HttpServer, ServerResponse } from "node:http";
import type { Socket } from "node:net";

/** Why tollgate closed a connection itself; the label values of `tollgate_connections_dropped_total`. */
export type DropReason = "max-connections" | "per-peer" | "idle-shed" | "drain-timeout";

export interface ConnectionLimits {
  /** Open connections at most, over all peers; node refuses more at accept. */
  maxConnections: number;
  /** Open connections at most from one source address. */
  maxConnectionsPerPeer: number;
  /** Once draining, a connection idle this long is closed; one used more recently gets the rest. */
  closeIdleGraceMs: number;
  /** Once draining, every connection still open this long after is closed. */
  drainTimeoutMs: number;
  onDrop: (reason: DropReason) => void;
}

export interface ConnectionGuard {
  /** Open connections, as counted at accept and close. */
  open(): number;
}

/** Where a socket and an answer keep their Connection. */
const CONNECTION = Symbol("tollgate.connection");
interface Tracked {
  [CONNECTION]?: Connection;
}

interface Connection {
  socket: Socket;
  peer: string;
  /** Requests whose answer has not finished. */
  inFlight: number;
  /** When the last answer finished, or when the connection was accepted. */
  idleSince: number;
}

/**
 * Shedding starts when this share of `maxConnections` is open, so that the last sixteenth stays free
 * for a peer that connects next (the apiserver after its pooled connections idled out).
 */
export function shedThreshold(maxConnections: number): number {
  return maxConnections - Math.max(1, Math.floor(maxConnections / 16));
}

/**
 * Keeps one peer from holding every connection of `server` (an HTTP or HTTPS server), and keeps a
 * slot free for a new peer:
 * - connections past `maxConnectionsPerPeer` from one address are closed at accept;
 * - near the global cap, each new connection closes the connection of another peer that has been
 *   idle longest (an idle keep-alive connection serves nobody; HTTP clients reconnect);
 * - past `maxConnections` node refuses the connection.
 *
 * It also replaces node's close of idle connections when the server closes, which destroys a
 * connection that has been idle for a microsecond, while its client's next request is on the wire
 * (a reset POST is a lost admission call): a connection is closed only once idle for
 * `closeIdleGraceMs`, and a request that arrives before is answered (with `Connection: close`).
 * Node stops its header and request timeouts when the server closes, so every connection still
 * open `drainTimeoutMs` after is closed.
 */
export function guardConnections(server: HttpServer, limits: ConnectionLimits): ConnectionGuard {
  if (
    !Number.isInteger(limits.maxConnectionsPerPeer) ||
    limits.maxConnectionsPerPeer < 1 ||
    limits.maxConnectionsPerPeer > limits.maxConnections
  ) {
    throw new RangeError(
      `maxConnectionsPerPeer (${limits.maxConnectionsPerPeer}) must be from 1 to maxConnections (${limits.maxConnections})`,
    );
  }
  server.maxConnections = limits.maxConnections;
  server.on("drop", () => limits.onDrop("max-connections"));
  const shedAt = shedThreshold(limits.maxConnections);

  // Keyed by address and port, which the raw socket (at accept) and the TLS socket (on a request)
  // both report; idle connections in the order they became idle, oldest first.
  const connections = new Map<string, Connection>();
  const idle = new Set<Connection>();
  const perPeer = new Map<string, number>();
  let draining = false;

  const becomeIdle = (connection: Connection) => {
    connection.idleSince = performance.now();
    idle.delete(connection);
    idle.add(connection);
    if (draining) retire(connection);
  };

  const shedOneIdle = (newcomer: string) => {
    for (const connection of idle) {
      if (connection.peer === newcomer) continue;
      idle.delete(connection);
      connection.socket.destroy();
      limits.onDrop("idle-shed");
      return;
    }
  };

  server.on("connection", (socket: Socket) => {
    const peer = socket.remoteAddress;
    const key = `${peer}|${socket.remotePort}`;
    if (peer === undefined) {
      socket.destroy();
      return;
    }
    const fromPeer = perPeer.get(peer) ?? 0;
    if (fromPeer >= limits.maxConnectionsPerPeer) {
      socket.destroy();
      limits.onDrop("per-peer");
      return;
    }
    if (connections.size + 1 >= shedAt) shedOneIdle(peer);
    const connection: Connection = { socket, peer, inFlight: 0, idleSince: performance.now() };
    connections.set(key, connection);
    perPeer.set(peer, fromPeer + 1);
    idle.add(connection);
    socket.once("close", () => {
      if (connections.get(key) === connection) connections.delete(key);
      idle.delete(connection);
      const left = (perPeer.get(peer) ?? 1) - 1;
      if (left === 0) perPeer.delete(peer);
      else perPeer.set(peer, left);
    });
  });

  // Per request: the connection is found by address once, then kept on the socket (the TLS
  // socket, which the raw one at accept is not), and the answer's close needs no closure of its own.
  const onAnswerClosed = function (this: ServerResponse & Tracked) {
    const connection = this[CONNECTION];
    if (connection === undefined) return;
    connection.inFlight--;
    if (connection.inFlight === 0) becomeIdle(connection);
  };
  server.on("request", (request: IncomingMessage, response: ServerResponse) => {
    const socket = request.socket as Socket & Tracked;
    let connection = socket[CONNECTION];
    if (connection === undefined) {
      connection = connections.get(`${socket.remoteAddress}|${socket.remotePort}`);
      if (!connection) return;
      socket[CONNECTION] = connection;
    }
    connection.inFlight++;
    idle.delete(connection);
    (response as ServerResponse & Tracked)[CONNECTION] = connection;
    response.on("close", onAnswerClosed);
  });

  const retire = (connection: Connection) => {
    const left = limits.closeIdleGraceMs - (performance.now() - connection.idleSince);
    if (left <= 0) {
      connection.socket.destroy();
      return;
    }
    const since = connection.idleSince;
    setTimeout(() => {
      if (connection.inFlight === 0 && connection.idleSince === since) connection.socket.destroy();
    }, left).unref();
  };

  // `server.close()` calls this on the instance; the caller has stopped accepting by then.
  server.closeIdleConnections = () => {
    if (draining) return;
    draining = true;
    for (const connection of idle) retire(connection);
    setTimeout(() => {
      for (const connection of connections.values()) {
        connection.socket.destroy();
        limits.onDrop("drain-timeout");
      }
    }, limits.drainTimeoutMs).unref();
  };

  return { open: () => connections.size };
}
