import type { AddressInfo } from "node:net";
import { connect as tcpConnect, type Socket } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import {
  buildApp,
  CONNECTIONS_CHECK_INTERVAL_MS,
  HEADERS_TIMEOUT_MS,
  REQUEST_TIMEOUT_MS,
} from "../../src/app.js";
import { UsageError } from "../../src/cli/args.js";
import { serve } from "../../src/cli/serve.js";
import { DEFAULT_CONFIG } from "../../src/config/load.js";
import { compilePolicy } from "../../src/engine/policy.js";
import { createMetrics, type Metrics } from "../../src/metrics.js";
import { buildMetricsServer } from "../../src/server/metricsServer.js";
import { review, rootPod } from "../support/reviews.js";
import { testCertificates } from "../support/server.js";
import { type HeldConnection, holdConnection, killServeChildren, startServe } from "./support.js";

/** Timers fire late on a busy machine. */
const SLACK_MS = 400;

const body = (uid: string) => JSON.stringify(review(rootPod(), { uid }));

interface Capped {
  app: FastifyInstance;
  metrics: Metrics;
  port: number;
  ca: string;
}

async function startCapped(limits: {
  maxConnections: number;
  maxConnectionsPerPeer: number;
}): Promise<Capped> {
  const { serving, ca } = await testCertificates();
  const metrics = createMetrics();
  const app = buildApp({
    https: serving,
    policy: () => compilePolicy(DEFAULT_CONFIG),
    metrics,
    logger: pino({ level: "silent" }),
    ...limits,
  });
  await app.listen({ port: 0, host: "127.0.0.1" });
  return { app, metrics, port: (app.server.address() as AddressInfo).port, ca: ca.cert };
}

/** Connections from one peer, opened one after the other so that the server sees them in order. */
async function holdInOrder(server: Capped, peer: string, count: number): Promise<HeldConnection[]> {
  const held: HeldConnection[] = [];
  for (let i = 0; i < count; i++)
    held.push(await holdConnection(server.port, server.ca, peer, body(`${peer}-${i}`)));
  return held;
}

/** Whether the server closed `socket` within `ms`. */
function closedWithin(socket: TLSSocket | undefined, ms: number): Promise<boolean> {
  if (!socket) return Promise.resolve(true);
  if (socket.destroyed) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** One more request on a held connection; resolves with its status, 0 when the server hung up. */
function again(held: HeldConnection, uid: string): Promise<number> {
  const socket = held.socket;
  if (!socket) return Promise.resolve(0);
  const text = body(uid);
  return new Promise((resolve) => {
    let answer = "";
    const onData = (chunk: string) => {
      answer += chunk;
      if (answer.includes(`"uid":"${uid}"`)) {
        socket.off("data", onData);
        resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0));
      }
    };
    socket.on("data", onData);
    socket.once("close", () => resolve(0));
    socket.write(
      `POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
    );
  });
}

const dropped = async (metrics: Metrics) => (await metrics.connectionsDropped.get()).values;

describe("connections per peer", () => {
  it("closes a peer's connections past its cap, counts them, and still answers another peer", async () => {
    const server = await startCapped({ maxConnections: 8, maxConnectionsPerPeer: 3 });
    const held: HeldConnection[] = [];
    try {
      held.push(...(await holdInOrder(server, "127.0.0.2", 5)));
      expect(held.map((h) => h.status)).toEqual([200, 200, 200, 0, 0]);
      const other = await holdConnection(server.port, server.ca, "127.0.0.3", body("other"));
      held.push(other);
      expect(other.status).toBe(200);
      expect(await new Promise((resolve) => server.app.server.getConnections((_e, n) => resolve(n)))).toBe(4);
      expect(await dropped(server.metrics)).toEqual([
        { labels: { server: "webhook", reason: "per-peer" }, value: 2 },
      ]);
    } finally {
      for (const h of held) h.socket?.destroy();
      await server.app.close();
    }
  });

  it("refuses a per-peer cap above the global one", async () => {
    const { serving } = await testCertificates();
    expect(() =>
      buildApp({
        https: serving,
        policy: () => compilePolicy(DEFAULT_CONFIG),
        metrics: createMetrics(),
        logger: pino({ level: "silent" }),
        maxConnections: 8,
        maxConnectionsPerPeer: 9,
      }),
    ).toThrow(new RangeError("maxConnectionsPerPeer (9) must be from 1 to maxConnections (8)"));
  });

  it("refuses a --max-connections-per-peer that is not a whole number from 1 to 2048", async () => {
    await expect(serve(["--max-connections-per-peer", "0"])).rejects.toThrow(
      new UsageError('--max-connections-per-peer must be a whole number from 1 to 2048, got "0"'),
    );
    await expect(serve(["--max-connections-per-peer", "many"])).rejects.toThrow(
      new UsageError('--max-connections-per-peer must be a whole number from 1 to 2048, got "many"'),
    );
  });
});

describe("idle connections near the global cap", () => {
  it("sheds the oldest idle connection of another peer so that a new peer always connects", async () => {
    // Shedding starts at 7 of 8 open: one slot stays free for whoever comes next.
    const server = await startCapped({ maxConnections: 8, maxConnectionsPerPeer: 3 });
    const all: HeldConnection[] = [];
    try {
      const a = await holdInOrder(server, "127.0.0.2", 3);
      const b = await holdInOrder(server, "127.0.0.3", 3);
      all.push(...a, ...b);
      expect([...a, ...b].map((h) => h.status)).toEqual([200, 200, 200, 200, 200, 200]);
      // a[0] is used again: now a[1] has been idle longest.
      expect(await again(a[0]!, "a0-again")).toBe(200);

      const order: number[] = [];
      for (const [i, peer] of ["127.0.0.4", "127.0.0.5", "127.0.0.6"].entries()) {
        const newcomer = await holdConnection(server.port, server.ca, peer, body(`new-${i}`));
        all.push(newcomer);
        expect(newcomer.status).toBe(200);
        order.push(newcomer.status);
      }
      expect(order).toEqual([200, 200, 200]);
      // Oldest idle first: a[1], a[2], then b[0]; a[0] (used again) and the rest stay.
      expect(await closedWithin(a[1]!.socket, 1_000)).toBe(true);
      expect(await closedWithin(a[2]!.socket, 1_000)).toBe(true);
      expect(await closedWithin(b[0]!.socket, 1_000)).toBe(true);
      expect(await closedWithin(a[0]!.socket, 200)).toBe(false);
      expect(await closedWithin(b[1]!.socket, 0)).toBe(false);
      expect(await closedWithin(b[2]!.socket, 0)).toBe(false);
      expect(await again(a[0]!, "a0-still-open")).toBe(200);
      expect(await dropped(server.metrics)).toEqual([
        { labels: { server: "webhook", reason: "idle-shed" }, value: 3 },
      ]);
    } finally {
      for (const h of all) h.socket?.destroy();
      await server.app.close();
    }
  });
});

describe("metrics port", () => {
  const dir = mkdtempSync(join(tmpdir(), "tollgate-connections-"));
  afterEach(killServeChildren);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // Shorter than the production 2 s and 0.5 s (which limits.test.ts checks the server has), so as
  // not to wait for them; the cut-off still comes well after the connections closed at once.
  const timeouts = { headersTimeout: 1_000, connectionsCheckingInterval: 100 };

  it("has the webhook's production header and request timeouts when given none", () => {
    const server = buildMetricsServer(createMetrics());
    expect(server.headersTimeout).toBe(HEADERS_TIMEOUT_MS);
    expect(server.requestTimeout).toBe(REQUEST_TIMEOUT_MS);
    expect((server as { connectionsCheckingInterval?: number }).connectionsCheckingInterval).toBe(
      CONNECTIONS_CHECK_INTERVAL_MS,
    );
  });

  it("cuts off slow header connections at the header timeout and caps one peer's connections", async () => {
    const child = await startServe(join(dir, "certs"), [], timeouts);
    const sockets: Socket[] = [];
    try {
      // 20 connections from one peer that send their headers a byte every 100 ms.
      const closedAfter = await new Promise<number[]>((resolve) => {
        const times: number[] = [];
        for (let i = 0; i < 20; i++) {
          const opened = performance.now();
          const socket = tcpConnect({
            host: "127.0.0.1",
            port: child.metricsPort,
            localAddress: "127.0.0.2",
          });
          const line = "GET /metrics HTTP/1.1\r\nHost: localhost\r\nX-Slow: ".padEnd(200, "x");
          let at = 0;
          const trickle = setInterval(() => {
            if (!socket.destroyed && at < line.length) socket.write(line[at++]!);
          }, 100);
          socket.on("error", () => {});
          socket.on("close", () => {
            clearInterval(trickle);
            times.push(performance.now() - opened);
            if (times.length === 20) resolve(times.sort((x, y) => x - y));
          });
          sockets.push(socket);
        }
      });
      // 16 per peer: the other 4 were closed at once; the 16 by the header timeout.
      expect(closedAfter.filter((ms) => ms < 500)).toHaveLength(4);
      const timedOut = closedAfter.slice(4);
      expect(Math.min(...timedOut)).toBeGreaterThanOrEqual(timeouts.headersTimeout - 50);
      expect(Math.max(...timedOut)).toBeLessThan(
        timeouts.headersTimeout + timeouts.connectionsCheckingInterval + SLACK_MS,
      );

      const scrape = await fetch(`http://127.0.0.1:${child.metricsPort}/metrics`);
      expect(scrape.status).toBe(200);
      expect(await scrape.text()).toContain(
        'tollgate_connections_dropped_total{server="metrics",reason="per-peer"} 4',
      );
    } finally {
      for (const s of sockets) s.destroy();
      child.process.kill("SIGTERM");
      expect(await child.exited).toBe(0);
    }
  });
});
