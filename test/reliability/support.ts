import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { Agent, request as httpsRequest } from "node:https";
import { connect as tcpConnect } from "node:net";
import { join } from "node:path";
import { connect, type TLSSocket } from "node:tls";
import type { ServerTimeouts } from "../../src/app.js";

export interface RawExchange {
  /** Everything the server sent, as text. */
  text: string;
  /** The status code of the first response, 0 when there was none. */
  status: number;
  /** Milliseconds from the TLS handshake to the server closing the connection. */
  closedAfterMs: number;
  /** A write that failed because the server had already closed, if any. */
  writeError?: string;
}

/**
 * Open a TLS connection to 127.0.0.1:port, let `drive` write to it (at any pace), and resolve
 * when the server closes it, or after `giveUpMs`.
 */
export function rawTls(
  port: number,
  ca: string,
  drive: (socket: TLSSocket, stop: (fn: () => void) => void) => void,
  giveUpMs = 10_000,
): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const cleanups: (() => void)[] = [];
    let opened = 0;
    let text = "";
    let writeError: string | undefined;
    const socket = connect({ host: "127.0.0.1", port, ca, servername: "localhost" }, () => {
      opened = performance.now();
      drive(socket, (fn) => cleanups.push(fn));
    });
    const giveUp = setTimeout(
      () => socket.destroy(new Error(`the server did not close within ${giveUpMs} ms`)),
      giveUpMs,
    );
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      text += chunk;
    });
    socket.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EPIPE" || error.code === "ECONNRESET") writeError = error.code;
      else if (error.message.startsWith("the server did not close"))
        reject(new Error(`${error.message}; got ${JSON.stringify(text.slice(0, 300))}`));
    });
    socket.on("close", () => {
      clearTimeout(giveUp);
      for (const fn of cleanups) fn();
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({
        text,
        status,
        closedAfterMs: performance.now() - opened,
        ...(writeError ? { writeError } : {}),
      });
    });
  });
}

/** Write `data` one piece every `everyMs`, until done or the socket closes. */
export function trickle(
  socket: TLSSocket,
  data: string,
  everyMs: number,
  stop: (fn: () => void) => void,
): void {
  let at = 0;
  const timer = setInterval(() => {
    if (at >= data.length || socket.destroyed) return clearInterval(timer);
    socket.write(data[at++]!);
  }, everyMs);
  stop(() => clearInterval(timer));
}

/** A plain TCP connection that never starts TLS: resolves with how long until the server hangs up. */
export function silentTcp(port: number, giveUpMs = 10_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = tcpConnect(port, "127.0.0.1");
    const giveUp = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server did not close a silent TCP connection within ${giveUpMs} ms`));
    }, giveUpMs);
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(giveUp);
      resolve(performance.now() - started);
    });
  });
}

/** Busy-wait: a rule that burns CPU the way a pathological regex or loop would. */
export function spin(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // burn
  }
}

export interface ServeChild {
  process: ChildProcessWithoutNullStreams;
  port: number;
  metricsPort: number;
  ca: string;
  /** Every log line the server wrote, parsed. */
  logs: Record<string, unknown>[];
  exited: Promise<number | null>;
  /** Resolves once the process has exited and all it wrote to stdout is in `logs`. */
  closed: Promise<void>;
}

const running = new Set<ChildProcessWithoutNullStreams>();

/** Kill (by PID) every child `startServe` started that is still running: a failed test leaves them. */
export function killServeChildren(): void {
  for (const child of running) child.kill("SIGKILL");
}

/**
 * `tollgate serve` from the sources, in a child process, on free ports of 127.0.0.1, with its
 * certificates in `certsDir`, and `timeouts` instead of the production ones when given. Resolves
 * once it logs that it listens.
 */
export async function startServe(
  certsDir: string,
  extra: string[] = [],
  timeouts?: Partial<ServerTimeouts>,
): Promise<ServeChild> {
  const entry =
    timeouts === undefined
      ? ["src/main.ts", "serve"]
      : ["test/reliability/serveWithTimeouts.ts", JSON.stringify(timeouts)];
  const child = spawn(
    process.execPath,
    [
      "--import",
      "./test/reliability/ts-register.mjs",
      ...entry,
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--metrics-port",
      "0",
      "--certs-dir",
      certsDir,
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
  running.add(child);
  const exited = new Promise<number | null>((resolve) =>
    child.on("exit", (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  const ports = await new Promise<{ port: number; metricsPort: number }>((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const parts = buffered.split("\n");
      buffered = parts.pop() ?? "";
      for (const part of parts) {
        const line = JSON.parse(part) as Record<string, unknown>;
        logs.push(line);
        if (line.msg === "tollgate listening")
          resolve({ port: line.port as number, metricsPort: line.metricsPort as number });
      }
    });
    void exited.then((code) => reject(new Error(`serve exited with ${code} before listening:\n${stderr}`)));
  });
  const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
  return {
    process: child,
    ...ports,
    ca: readFileSync(join(certsDir, "ca.crt"), "utf8"),
    logs,
    exited,
    closed,
  };
}

export interface LoadTally {
  /** Requests written to a connection: on a reused one, or on a fresh one after its handshake. */
  sent: number;
  /** Requests answered 200 with the uid they were sent with. */
  answered: number;
  /** The uids of those. */
  answeredUids: string[];
  /** Requests sent and never answered, with the error the client saw. */
  lost: { uid: string; error: string; reused: boolean }[];
  /** Answers that were not a 200 with the right uid. */
  wrong: { uid: string; status: number; body: string }[];
  /** Fresh connections the server refused or cut before the request went out: never accepted. */
  refused: number;
  /** Answers that carried `Connection: close`. */
  closing: number;
}

export interface KeepAliveLoad {
  /** The counts so far. */
  tally: Readonly<LoadTally>;
  /** Stop sending; resolves when every client has its last answer. */
  stop(): Promise<LoadTally>;
  /** Resolves when every client has stopped by itself (the server refused a fresh connection). */
  done: Promise<LoadTally>;
}

/**
 * `clients` keep-alive clients, each with one pooled connection, posting reviews in a loop to
 * 127.0.0.1:port, as the apiserver's Go client does: a connection is reused until an answer says
 * `Connection: close`, then the next request goes on a fresh one. A request that fails after it was
 * written is lost (Go does not retry a POST); a client stops once a fresh connection is refused,
 * after `maxMs` at most, or once the clients together have begun `maxRequests`.
 */
export function keepAliveLoad(options: {
  port: number;
  ca: string;
  clients: number;
  body: (uid: string) => string;
  maxMs?: number;
  maxRequests?: number;
}): KeepAliveLoad {
  const tally: LoadTally = {
    sent: 0,
    answered: 0,
    answeredUids: [],
    lost: [],
    wrong: [],
    refused: 0,
    closing: 0,
  };
  let sending = true;
  const deadline = performance.now() + (options.maxMs ?? 15_000);
  const maxRequests = options.maxRequests ?? Number.POSITIVE_INFINITY;
  let begun = 0;
  const one = (agent: Agent, uid: string) =>
    new Promise<"again" | "refused">((resolve) => {
      let written = false;
      let reused = false;
      const req = httpsRequest(
        {
          host: "127.0.0.1",
          port: options.port,
          path: "/validate",
          method: "POST",
          agent,
          ca: options.ca,
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
            if (res.headers.connection === "close") tally.closing++;
            if (res.statusCode === 200 && text.includes(`"uid":"${uid}"`)) {
              tally.answered++;
              tally.answeredUids.push(uid);
            } else tally.wrong.push({ uid, status: res.statusCode ?? 0, body: text.slice(0, 200) });
            resolve("again");
          });
          res.on("error", (error: NodeJS.ErrnoException) => {
            tally.lost.push({ uid, error: `response: ${error.code ?? error.message}`, reused });
            resolve("again");
          });
        },
      );
      req.on("socket", (socket) => {
        if (req.reusedSocket) {
          reused = true;
          written = true;
          tally.sent++;
        } else {
          socket.once("secureConnect", () => {
            written = true;
            tally.sent++;
          });
        }
      });
      req.on("error", (error: NodeJS.ErrnoException) => {
        if (!written) {
          tally.refused++;
          resolve("refused");
        } else {
          tally.lost.push({ uid, error: error.code ?? error.message, reused });
          resolve("again");
        }
      });
      req.end(options.body(uid));
    });
  const client = async (id: number) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let n = 0; sending && performance.now() < deadline && begun < maxRequests; n++) {
        begun++;
        if ((await one(agent, `c${id}-${n}`)) === "refused") return;
      }
    } finally {
      agent.destroy();
    }
  };
  const done = Promise.all(Array.from({ length: options.clients }, (_, id) => client(id))).then(() => tally);
  return {
    tally,
    done,
    stop: () => {
      sending = false;
      return done;
    },
  };
}

export interface HeldConnection {
  /** The open connection, after one answered request; undefined when the server refused it. */
  socket?: TLSSocket;
  /** The first answer's status, 0 when there was none. */
  status: number;
  /** Why there was no answer. */
  error?: string;
}

/**
 * A keep-alive TLS connection from `localAddress` (127.0.0.2, 127.0.0.3… stand for other peers on
 * Linux loopback) that makes one request and is then held open, idle, as a pooled connection is.
 */
export function holdConnection(
  port: number,
  ca: string,
  localAddress: string,
  body: string,
  giveUpMs = 10_000,
): Promise<HeldConnection> {
  return new Promise((resolve) => {
    let text = "";
    let settled = false;
    const settle = (held: HeldConnection) => {
      if (settled) return;
      settled = true;
      clearTimeout(giveUp);
      resolve(held);
    };
    const tcp = tcpConnect({ host: "127.0.0.1", port, localAddress });
    const socket = connect({ socket: tcp, ca, servername: "localhost" }, () => {
      socket.write(
        `POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    });
    const giveUp = setTimeout(() => {
      socket.destroy();
      settle({ status: 0, error: "no answer" });
    }, giveUpMs);
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      text += chunk;
      const head = text.indexOf("\r\n\r\n");
      const length = /\r\ncontent-length: (\d+)/i.exec(text)?.[1];
      if (head >= 0 && length !== undefined && Buffer.byteLength(text.slice(head + 4)) >= Number(length)) {
        settle({ socket, status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0) });
      }
    });
    socket.on("error", (error: NodeJS.ErrnoException) =>
      settle({ status: 0, error: error.code ?? error.message }),
    );
    socket.on("close", () => settle({ status: 0, error: "closed" }));
  });
}
