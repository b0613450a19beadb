import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { UsageError } from "../../src/cli/args.js";
import { serve } from "../../src/cli/serve.js";
import { review, rootPod } from "../support/reviews.js";
import {
  holdConnection,
  keepAliveLoad,
  rawTls,
  type ServeChild,
  killServeChildren,
  startServe,
  trickle,
} from "./support.js";

const dir = mkdtempSync(join(tmpdir(), "tollgate-shutdown-"));
afterEach(killServeChildren);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Child = ServeChild;
const startChild = (extra: string[]) => startServe(join(dir, "certs"), extra);

interface Answer {
  status: number;
  uid?: unknown;
  error?: string;
}

/** One request on a fresh connection, as the apiserver opens them to a new endpoint. */
function call(child: Child, path: string, body?: string): Promise<Answer> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: child.port,
        path,
        method: body === undefined ? "GET" : "POST",
        agent: false,
        ca: child.ca,
        servername: "localhost",
        headers: { "content-type": "application/json" },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("end", () => {
          const json = JSON.parse(text) as { response?: { uid?: unknown } };
          resolve({ status: res.statusCode ?? 0, uid: json.response?.uid });
        });
      },
    );
    req.on("error", (error: NodeJS.ErrnoException) =>
      resolve({ status: 0, error: error.code ?? error.message }),
    );
    req.end(body);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const bodyOf = (uid: string) => JSON.stringify(review(rootPod(), { uid }));
/** Timers fire late on a busy machine. */
const SLACK_MS = 400;

describe("graceful shutdown", () => {
  it("turns not ready first, answers every request started before and during the drain, and exits 0", async () => {
    const child = await startChild(["--shutdown-delay", "1"]);

    // Steady traffic on new connections until the endpoint would have been removed.
    let sending = true;
    const answers: (Answer & { expected: string })[] = [];
    const worker = async (id: number) => {
      for (let n = 0; sending; n++) {
        const uid = `load-${id}-${n}`;
        answers.push({ ...(await call(child, "/validate", bodyOf(uid))), expected: uid });
      }
    };
    const workers = Array.from({ length: 4 }, (_, i) => worker(i));
    await sleep(300);

    // Requests in flight across the whole shutdown: headers and half the body now, the rest later.
    let finishHeld: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      finishHeld = resolve;
    });
    let connected = 0;
    let allConnected: () => void = () => {};
    const heldOpen = new Promise<void>((resolve) => {
      allConnected = resolve;
    });
    const held = Array.from({ length: 10 }, (_, i) => {
      const body = bodyOf(`held-${i}`);
      const half = Math.floor(body.length / 2);
      return rawTls(child.port, child.ca, (socket) => {
        socket.write(
          `POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, half)}`,
        );
        if (++connected === 10) allConnected();
        void released.then(() => socket.write(body.slice(half)));
      });
    });
    await heldOpen;

    child.process.kill("SIGTERM");
    const signalled = performance.now();
    const readiness = await call(child, "/readyz");
    expect(readiness.status).toBe(503);
    const duringDelay = await call(child, "/validate", bodyOf("during-delay"));
    expect(duringDelay).toEqual({ status: 200, uid: "during-delay" });
    await sleep(500);
    sending = false;
    await Promise.all(workers);

    // Past the delay the server is closing; the held requests now finish their bodies.
    // Well inside REQUEST_TIMEOUT_MS of their start, even on a busy machine.
    await sleep(Math.max(0, 1_200 - (performance.now() - signalled)));
    finishHeld();
    const heldAnswers = await Promise.all(held);
    expect(await child.exited).toBe(0);

    expect(answers.length).toBeGreaterThan(10);
    for (const answer of answers)
      expect(answer).toEqual({ status: 200, uid: answer.expected, expected: answer.expected });
    heldAnswers.forEach((answer, i) => {
      expect(answer.status).toBe(200);
      expect(answer.text).toContain(`"uid":"held-${i}"`);
      expect(answer.text).toMatch(/\r\nconnection: close\r\n/i);
    });
    const messages = child.logs.map((l) => l.msg);
    expect(messages).toContain("shutting down: not ready, finishing in-flight requests");
    expect(messages.at(-1)).toBe("stopped");
    expect(child.logs.find((l) => l.msg?.toString().startsWith("shutting down"))).toMatchObject({
      signal: "SIGTERM",
      delayMs: 1000,
    });
  });

  for (const delay of [0, 1]) {
    it(`loses no request of 16 keep-alive clients posting in a loop, with --shutdown-delay ${delay}`, async () => {
      const child = await startChild(["--shutdown-delay", String(delay)]);
      const load = keepAliveLoad({
        port: child.port,
        ca: child.ca,
        clients: 16,
        body: (uid) => JSON.stringify(review(rootPod(), { uid })),
      });
      // Steady load first, however long a busy machine takes to answer that much.
      const giveUp = performance.now() + 10_000;
      while (load.tally.answered <= 100 && performance.now() < giveUp) await sleep(10);
      child.process.kill("SIGTERM");
      expect(await child.exited).toBe(0);
      // Every client stops by itself: once the server is gone its fresh connection is refused.
      const tally = await load.done;
      expect(tally.lost).toEqual([]);
      expect(tally.wrong).toEqual([]);
      expect(tally.answered).toBe(tally.sent);
      expect(tally.refused).toBe(16);
      expect(tally.answered).toBeGreaterThan(100);
      // During the delay every answer tells its client to retire the connection.
      if (delay > 0) expect(tally.closing).toBeGreaterThan(16);
    });
  }

  it("with --shutdown-delay 0, answers a request that arrives on a kept-alive connection as the server closes", async () => {
    const child = await startChild(["--shutdown-delay", "0"]);
    const pooled = await holdConnection(child.port, child.ca, "127.0.0.1", bodyOf("before"));
    expect(pooled.status).toBe(200);
    const socket = pooled.socket!;
    let text = "";
    socket.on("data", (chunk: string) => {
      text += chunk;
    });
    const closed = new Promise<number>((resolve) => socket.once("close", () => resolve(performance.now())));

    child.process.kill("SIGTERM");
    // The server has begun to close (it logs that first); the request was already on its way.
    while (!child.logs.some((l) => l.msg === "shutting down: not ready, finishing in-flight requests"))
      await sleep(1);
    const sent = performance.now();
    const body = bodyOf("as-it-closes");
    socket.write(
      `POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    const closedAt = await closed;
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(text).toMatch(/\r\nconnection: close\r\n/i);
    expect(text).toContain('"uid":"as-it-closes"');
    expect(closedAt - sent).toBeLessThan(1_000);
    expect(await child.exited).toBe(0);
  });

  it("closes idle and half-sent connections a grace after their last answer, and a slow body at the drain timeout", async () => {
    // Shorter than the production 1 s and 2.5 s, so as not to wait for them; the grace still ends
    // well after the SIGTERM, and the drain before the 2.5 s request timeout could cut the body.
    const grace = 800;
    const drain = 1_200;
    const child = await startServe(join(dir, "certs"), ["--shutdown-delay", "0"], {
      closeIdleGraceMs: grace,
      drainTimeoutMs: drain,
    });
    const idle = await holdConnection(child.port, child.ca, "127.0.0.1", bodyOf("idle"));
    const answeredAt = performance.now();
    expect(idle.status).toBe(200);
    const idleClosed = new Promise<number>((resolve) =>
      idle.socket!.once("close", () => resolve(performance.now())),
    );
    const opened = performance.now();
    // Headers, then a body, a byte every 100 ms: node stops its timeouts once the server closes.
    const slowHeaders = rawTls(
      child.port,
      child.ca,
      (socket, stop) =>
        trickle(socket, `POST /validate HTTP/1.1\r\n${"X-Slow: x\r\n".repeat(20)}`, 100, stop),
      20_000,
    );
    const body = bodyOf("slow-body");
    const slowBody = rawTls(
      child.port,
      child.ca,
      (socket, stop) => {
        socket.write(
          `POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`,
        );
        trickle(socket, body, 100, stop);
      },
      20_000,
    );
    await sleep(300);
    child.process.kill("SIGTERM");
    const signalled = performance.now();
    const code = await child.exited;
    const exitedAfter = performance.now() - signalled;
    expect(code).toBe(0);
    expect((await idleClosed) - answeredAt).toBeGreaterThanOrEqual(grace - 50);
    expect((await idleClosed) - answeredAt).toBeLessThan(grace + SLACK_MS);
    const headers = await slowHeaders;
    expect(headers.status).toBe(0);
    expect(headers.closedAfterMs + (opened - signalled)).toBeLessThan(grace + SLACK_MS);
    expect((await slowBody).status).toBe(0);
    expect(exitedAfter).toBeGreaterThanOrEqual(drain - 50);
    expect(exitedAfter).toBeLessThan(drain + SLACK_MS + 500);
  });

  it("refuses a --shutdown-delay that is not a number of seconds", async () => {
    await expect(serve(["--shutdown-delay", "soon"])).rejects.toThrow(
      new UsageError('--shutdown-delay must be a number of seconds from 0 to 300, got "soon"'),
    );
  });
});
