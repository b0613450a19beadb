import { Agent, globalAgent, request } from "node:https";
import type { AddressInfo } from "node:net";
import { connect, type TLSSocket } from "node:tls";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BODY_LIMIT_BYTES,
  buildApp,
  CLOSE_IDLE_GRACE_MS,
  CONNECTIONS_CHECK_INTERVAL_MS,
  DRAIN_TIMEOUT_MS,
  HANDSHAKE_TIMEOUT_MS,
  HEADERS_TIMEOUT_MS,
  KEEP_ALIVE_TIMEOUT_MS,
  MAX_CONNECTIONS,
  REQUEST_TIMEOUT_MS,
  serverTimeouts,
} from "../../src/app.js";
import { DEFAULT_CONFIG } from "../../src/config/load.js";
import { compilePolicy } from "../../src/engine/policy.js";
import { createMetrics } from "../../src/metrics.js";
import { review, rootPod } from "../support/reviews.js";
import { post, type RunningServer, startServer, testCertificates } from "../support/server.js";
import { rawTls, silentTcp, trickle } from "./support.js";

/** The apiserver's default call timeout: every slow client must be cut off before it. */
const APISERVER_TIMEOUT_MS = DEFAULT_CONFIG.webhook.timeoutSeconds * 1000;
/** Timers fire late on a busy machine. */
const SLACK_MS = 400;

let server: RunningServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

const validReview = (uid: string) => JSON.stringify(review(rootPod(), { uid }));

async function expectStillServing(uid: string): Promise<void> {
  const res = await post(server, "/validate", validReview(uid));
  expect(res.status).toBe(200);
  expect((res.json as { response: { uid: string } }).response.uid).toBe(uid);
}

describe("body limit", () => {
  it("answers 413 to a body over the limit announced by Content-Length, and goes on serving", async () => {
    const size = BODY_LIMIT_BYTES + 1024;
    const exchange = await rawTls(server.port, server.ca, (socket) => {
      socket.write(
        `POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\n\r\n`,
      );
      socket.write(Buffer.alloc(size, 0x20));
    });
    expect(exchange.status).toBe(413);
    expect(exchange.text).toContain(
      `{"error":"too-large","message":"request body larger than the limit of 8 MiB (${BODY_LIMIT_BYTES} bytes)"}`,
    );
    await expectStillServing("after-413-length");
  });

  it("answers 413 to a chunked body that grows past the limit, and goes on serving", async () => {
    const exchange = await rawTls(server.port, server.ca, (socket) => {
      socket.write(
        "POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
      );
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      for (let i = 0; i < 9; i++) socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    });
    expect(exchange.status).toBe(413);
    await expectStillServing("after-413-chunked");
  });
});

describe("slow clients", () => {
  // A server of their own with short timeouts, so that each cut-off comes in about a second; the
  // production values are checked below to be the real server's, and to fit the apiserver's timeout.
  const short = serverTimeouts({
    headersTimeout: 500,
    requestTimeout: 600,
    connectionsCheckingInterval: 100,
    handshakeTimeout: 800,
  });
  let slow: RunningServer;
  beforeAll(async () => {
    slow = await startServer({}, undefined, short);
  });
  afterAll(() => slow.close());

  it("are cut off before the apiserver's call timeout by the real server's timeouts", () => {
    expect(HEADERS_TIMEOUT_MS + CONNECTIONS_CHECK_INTERVAL_MS).toBeLessThanOrEqual(APISERVER_TIMEOUT_MS);
    expect(REQUEST_TIMEOUT_MS + CONNECTIONS_CHECK_INTERVAL_MS).toBeLessThanOrEqual(APISERVER_TIMEOUT_MS);
    expect(HANDSHAKE_TIMEOUT_MS).toBeLessThan(APISERVER_TIMEOUT_MS);
    const real = server.app.server;
    expect(real.headersTimeout).toBe(HEADERS_TIMEOUT_MS);
    expect(real.requestTimeout).toBe(REQUEST_TIMEOUT_MS);
    expect((real as { connectionsCheckingInterval?: number }).connectionsCheckingInterval).toBe(
      CONNECTIONS_CHECK_INTERVAL_MS,
    );
    expect(real.keepAliveTimeout).toBe(KEEP_ALIVE_TIMEOUT_MS);
    // node keeps the handshake timeout under a symbol of its own.
    const handshake = Object.getOwnPropertySymbols(real).find((s) => s.description === "handshake-timeout");
    expect(handshake && (real as unknown as Record<symbol, unknown>)[handshake]).toBe(HANDSHAKE_TIMEOUT_MS);
    expect(serverTimeouts()).toEqual({
      headersTimeout: HEADERS_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: CONNECTIONS_CHECK_INTERVAL_MS,
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      closeIdleGraceMs: CLOSE_IDLE_GRACE_MS,
      drainTimeoutMs: DRAIN_TIMEOUT_MS,
    });
  });

  it.concurrent("cuts off a client that sends its headers slowly at the header timeout", async () => {
    const exchange = await rawTls(slow.port, slow.ca, (socket, stop) => {
      trickle(
        socket,
        "POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n",
        100,
        stop,
      );
    });
    expect(exchange.status).toBe(408);
    expect(exchange.closedAfterMs).toBeGreaterThanOrEqual(short.headersTimeout - 50);
    expect(exchange.closedAfterMs).toBeLessThan(
      short.headersTimeout + short.connectionsCheckingInterval + SLACK_MS,
    );
  });

  it.concurrent("cuts off a client that sends its body slowly at the request timeout", async () => {
    const body = validReview("slow-body");
    const exchange = await rawTls(slow.port, slow.ca, (socket, stop) => {
      socket.write(
        `POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`,
      );
      trickle(socket, body, 50, stop);
    });
    expect(exchange.status).toBe(408);
    expect(exchange.closedAfterMs).toBeGreaterThanOrEqual(short.requestTimeout - 50);
    expect(exchange.closedAfterMs).toBeLessThan(
      short.requestTimeout + short.connectionsCheckingInterval + SLACK_MS,
    );
  });

  it.concurrent("cuts off a client that completes TLS and then sends nothing", async () => {
    const exchange = await rawTls(slow.port, slow.ca, () => {});
    expect(exchange.status).toBe(408);
    expect(exchange.closedAfterMs).toBeLessThan(
      short.headersTimeout + short.connectionsCheckingInterval + SLACK_MS,
    );
  });

  it.concurrent("drops a TCP connection that never starts the TLS handshake", async () => {
    const closedAfter = await silentTcp(slow.port);
    expect(closedAfter).toBeGreaterThanOrEqual(short.handshakeTimeout - 50);
    expect(closedAfter).toBeLessThan(short.handshakeTimeout + SLACK_MS + 500);
  });

  it.concurrent(
    "keeps an idle keep-alive connection open past those timeouts, as the apiserver pools them",
    async () => {
      const body = validReview("keep-alive");
      const past = short.requestTimeout + short.connectionsCheckingInterval;
      const exchange = await rawTls(slow.port, slow.ca, (socket, stop) => {
        const send = () =>
          socket.write(
            `POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
          );
        send();
        const again = setTimeout(send, past + 200);
        const end = setTimeout(() => socket.end(), past + 600);
        stop(() => {
          clearTimeout(again);
          clearTimeout(end);
        });
      });
      expect(exchange.text.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(2);
      expect(exchange.text).not.toContain("408");
    },
  );
});

describe("idle keep-alive connections", () => {
  it("cost little memory each and do not stop the server from answering", async () => {
    const count = 400;
    const agent = new Agent({ keepAlive: true, maxSockets: count, maxFreeSockets: count });
    const one = (uid: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request(
          {
            host: "127.0.0.1",
            port: server.port,
            path: "/validate",
            method: "POST",
            agent,
            ca: server.ca,
            servername: "localhost",
            headers: { "content-type": "application/json" },
          },
          (res) => {
            res.resume();
            res.on("end", () => resolve(res.statusCode ?? 0));
          },
        );
        req.on("error", reject);
        req.end(validReview(uid));
      });
    const openConnections = () =>
      new Promise<number>((resolve, reject) =>
        server.app.server.getConnections((error, n) => (error ? reject(error) : resolve(n))),
      );
    // Earlier tests leave pooled connections of the global agent open: close them and wait.
    globalAgent.destroy();
    for (let waited = 0; (await openConnections()) > 0 && waited < 3_000; waited += 25) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(await openConnections()).toBe(0);
    const before = process.memoryUsage();
    const statuses = await Promise.all(Array.from({ length: count }, (_, i) => one(`idle-${i}`)));
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(await openConnections()).toBe(count);
    const after = process.memoryUsage();
    // Both ends of every connection live in this process: the bound is for the pair.
    const perConnection = (after.rss - before.rss) / count;
    expect(perConnection).toBeLessThan(256 * 1024);
    await expectStillServing("with-idle-connections");
    agent.destroy();
  });
});

describe("an object with a finding per container", () => {
  it("gets a bounded answer: 30 warnings or listed denials and a count of the rest", async () => {
    const containers = Array.from({ length: 50_000 }, (_, i) => ({ name: `c${i}`, image: "b" }));
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "wide", namespace: "team-a" },
      spec: { containers },
    };
    const warned = await post(server, "/validate/warn", JSON.stringify(review(pod, { uid: "wide-warn" })));
    expect(warned.status).toBe(200);
    expect(warned.body.length).toBeLessThan(16_384);
    const response = (warned.json as { response: { uid: string; allowed: boolean; warnings: string[] } })
      .response;
    expect(response.uid).toBe("wide-warn");
    expect(response.allowed).toBe(true);
    expect(response.warnings[29]).toMatch(/^[a-z-]+: /);
    expect(response.warnings[30]).toMatch(/^tollgate: \d+ more warnings; `tollgate check` lists them all$/);

    const denied = await post(server, "/validate/enforce", JSON.stringify(review(pod, { uid: "wide-deny" })));
    expect(denied.body.length).toBeLessThan(32_768);
    const message = (denied.json as { response: { status: { message: string } } }).response.status.message;
    const lines = message.split("\n");
    expect(lines[0]).toMatch(/^tollgate: Pod "wide" in namespace "team-a" has \d+ violations:$/);
    expect(lines).toHaveLength(33);
    expect(lines[31]).toMatch(/^- and \d+ more; `tollgate check` lists them all$/);
    // Past MAX_CONTAINERS the rules judge the first ones only, and say so.
    expect(lines[32]).toBe(
      "tollgate: could not finish judging the object at rule container-requests-missing: the pod spec has 50000 containers; tollgate judges at most 1000; it is denied until tollgate can judge it in full",
    );
    const decision = server.logs.find((l) => l.uid === "wide-deny" && l.msg === "decision");
    const rules = (decision?.rules ?? []) as string[];
    expect(rules.length).toBeGreaterThan(0);
    expect(new Set(rules).size).toBe(rules.length);
  });
});

describe("connection cap", () => {
  it("drops and counts connections past the maximum, and accepts again once some close", async () => {
    const { serving, ca } = await testCertificates();
    const metrics = createMetrics();
    const capped = buildApp({
      https: serving,
      policy: () => compilePolicy(DEFAULT_CONFIG),
      metrics,
      logger: pino({ level: "silent" }),
      maxConnections: 5,
    });
    await capped.listen({ port: 0, host: "127.0.0.1" });
    const port = (capped.server.address() as AddressInfo).port;
    const open = (): Promise<TLSSocket | undefined> =>
      new Promise((resolve) => {
        const socket = connect({ host: "127.0.0.1", port, ca: ca.cert, servername: "localhost" }, () =>
          resolve(socket),
        );
        socket.on("error", () => resolve(undefined));
        socket.on("close", () => resolve(undefined));
      });
    try {
      const first = await Promise.all(Array.from({ length: 5 }, open));
      expect(first.every((s) => s !== undefined)).toBe(true);
      expect(await open()).toBeUndefined();
      expect((await metrics.connectionsDropped.get()).values).toEqual([
        { labels: { server: "webhook", reason: "max-connections" }, value: 1 },
      ]);
      first[0]?.destroy();
      await new Promise((resolve) => setTimeout(resolve, 50));
      const again = await open();
      expect(again).toBeDefined();
      again?.destroy();
      for (const socket of first) socket?.destroy();
    } finally {
      await capped.close();
    }
  });

  it("is set on the real server", () => {
    expect(server.app.server.maxConnections).toBe(MAX_CONNECTIONS);
  });
});

describe("JSON nesting", () => {
  const deep = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;
  const withInObject = (uid: string, inner: string) =>
    validReview(uid).replace('"spec":{', `"spec":{"deep":${inner},"labels":${inner},`);

  it("answers a review whose object nests a million levels deep, without blowing the stack", async () => {
    const body = withInObject("deep-array", deep(1_000_000));
    expect(body.length).toBeLessThan(BODY_LIMIT_BYTES);
    const res = await post(server, "/validate/enforce", body);
    expect(res.status).toBe(200);
    expect((res.json as { response: { uid: string; allowed: boolean } }).response).toMatchObject({
      uid: "deep-array",
      allowed: false,
    });
  });

  it("answers deep nesting in place of the containers, and in the envelope, without blowing the stack", async () => {
    const objects = `${'{"a":'.repeat(200_000)}{}${"}".repeat(200_000)}`;
    const containers = validReview("deep-containers").replace(
      /"containers":\[.*?\]\}\]/,
      `"containers":${objects}`,
    );
    const res = await post(server, "/validate", containers);
    expect(res.status).toBe(200);
    expect((res.json as { response: { uid: string } }).response.uid).toBe("deep-containers");

    const envelope = validReview("deep-kind").replace(
      '"kind":{"group":""',
      `"kind":{"x":${deep(200_000)},"group":""`,
    );
    const res2 = await post(server, "/validate", envelope);
    expect(res2.status).toBe(200);

    const wrongType = validReview("deep-kind").replace(
      /"kind":\{"group":"","version":"v1","kind":"Pod"\}/,
      `"kind":${deep(200_000)}`,
    );
    const res3 = await post(server, "/validate", wrongType);
    expect(res3.status).toBe(400);
    expect(res3.json).toEqual({
      error: "not-a-review",
      message: "not an AdmissionReview v1: request.kind must be object",
    });
    await expectStillServing("after-deep");
  });
});
