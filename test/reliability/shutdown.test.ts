import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { UsageError } from "../../src/cli/args.js";
import { serve } from "../../src/cli/serve.js";
import { review, rootPod } from "../support/reviews.js";
import { rawTls } from "./support.js";

const dir = mkdtempSync(join(tmpdir(), "tollgate-shutdown-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Child {
  process: ChildProcessWithoutNullStreams;
  port: number;
  ca: string;
  logs: Record<string, unknown>[];
  exited: Promise<number | null>;
}

/** `tollgate serve` from the sources, in a child process, on free ports of 127.0.0.1. */
async function startChild(extra: string[]): Promise<Child> {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "./test/reliability/ts-register.mjs",
      "src/main.ts",
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--metrics-port",
      "0",
      "--certs-dir",
      join(dir, "certs"),
      ...extra,
    ],
    { stdio: ["pipe", "pipe", "pipe"] },
  );
  const logs: Record<string, unknown>[] = [];
  let buffered = "";
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const parts = buffered.split("\n");
      buffered = parts.pop() ?? "";
      for (const part of parts) {
        const line = JSON.parse(part) as Record<string, unknown>;
        logs.push(line);
        if (line.msg === "tollgate listening") resolve(line.port as number);
      }
    });
    void exited.then((code) => reject(new Error(`serve exited with ${code} before listening:\n${stderr}`)));
  });
  return { process: child, port, ca: readFileSync(join(dir, "certs", "ca.crt"), "utf8"), logs, exited };
}

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

describe("graceful shutdown", () => {
  it("turns not ready first, answers every request started before and during the drain, and exits 0", async () => {
    const child = await startChild(["--shutdown-delay", "1"]);
    const bodyOf = (uid: string) => JSON.stringify(review(rootPod(), { uid }));

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

  it("refuses a --shutdown-delay that is not a number of seconds", async () => {
    await expect(serve(["--shutdown-delay", "soon"])).rejects.toThrow(
      new UsageError('--shutdown-delay must be a number of seconds from 0 to 300, got "soon"'),
    );
  });
});
