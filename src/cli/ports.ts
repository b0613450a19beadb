import { createServer, type Server } from "node:net";

/** Ports `serve` holds while its modules load; `release` lets them go for the real servers. */
export interface HeldPorts {
  release(): Promise<void>;
}

function close(server: Server): Promise<void> {
  return new Promise((done) => {
    if (!server.listening) return done();
    server.close(() => done());
  });
}

/**
 * Bind a plain TCP server on each port, in order. On the first that cannot be bound, let go of the
 * others and return the message naming it (listenFailure). Only node:net is loaded, so the answer
 * comes in milliseconds after node starts.
 */
export async function holdPorts(
  host: string,
  ports: readonly { port: number; flag: string }[],
): Promise<HeldPorts | string> {
  const held: Server[] = [];
  const release = async () => {
    await Promise.all(held.splice(0).map(close));
  };
  for (const { port, flag } of ports) {
    // A client that connects meanwhile (a readiness probe) is cut off at once: an accepted socket
    // that nobody reads keeps close() waiting without keeping the process alive, and node would exit.
    const server = createServer((socket) => socket.destroy());
    try {
      await new Promise<void>((done, fail) => {
        server.once("error", fail);
        server.listen(port, host, () => {
          server.off("error", fail);
          done();
        });
      });
    } catch (error) {
      await release();
      return listenFailure(error, host, port, flag);
    }
    held.push(server);
  }
  return { release };
}

/** What a user reads when `host:port` cannot be bound: the address, the flag, what to do. */
export function listenFailure(error: unknown, host: string, port: number, flag: string): string {
  const code = (error as NodeJS.ErrnoException).code;
  const where = `cannot listen on ${host}:${port} (--${flag})`;
  switch (code) {
    case "EADDRINUSE":
      return `${where}: the port is already in use (EADDRINUSE); stop what holds it or choose another --${flag}.`;
    case "EACCES":
      return `${where}: permission denied (EACCES); ports below 1024 need privileges, choose another --${flag}.`;
    case "EADDRNOTAVAIL":
      return `${where}: ${host} is not an address of this machine (EADDRNOTAVAIL); check --host.`;
    default:
      return `${where}: ${error instanceof Error ? error.message : String(error)}.`;
  }
}
