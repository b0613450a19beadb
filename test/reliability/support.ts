import { connect as tcpConnect } from "node:net";
import { connect, type TLSSocket } from "node:tls";

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
