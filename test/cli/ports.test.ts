import { connect, createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { holdPorts } from "../../src/cli/ports.js";

function freePort(): Promise<number> {
  return new Promise((done) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

/** Whether `port` can be bound now. */
function bindable(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once("error", () => done(false));
    server.listen(port, "127.0.0.1", () => server.close(() => done(true)));
  });
}

describe("holdPorts", () => {
  it("holds every port until release, and cuts off a client that connects meanwhile", async () => {
    const [a, b] = [await freePort(), await freePort()];
    const held = await holdPorts("127.0.0.1", [
      { port: a, flag: "port" },
      { port: b, flag: "metrics-port" },
    ]);
    if (typeof held === "string") throw new Error(held);
    expect([await bindable(a), await bindable(b)]).toEqual([false, false]);
    // A readiness probe during start-up: the connection is closed, and release does not wait on it.
    const closed = await new Promise<boolean>((done) => {
      const socket = connect(a, "127.0.0.1");
      socket.once("close", () => done(true));
      socket.once("error", () => undefined);
    });
    expect(closed).toBe(true);
    await held.release();
    expect([await bindable(a), await bindable(b)]).toEqual([true, true]);
  });

  it("names the first port that is taken, with its flag, and lets go of the ones it held", async () => {
    const free = await freePort();
    const taken = createServer();
    await new Promise<void>((done) => taken.listen(0, "127.0.0.1", () => done()));
    const takenPort = (taken.address() as { port: number }).port;
    try {
      const held = await holdPorts("127.0.0.1", [
        { port: free, flag: "port" },
        { port: takenPort, flag: "metrics-port" },
      ]);
      expect(held).toBe(
        `cannot listen on 127.0.0.1:${takenPort} (--metrics-port): the port is already in use (EADDRINUSE); stop what holds it or choose another --metrics-port.`,
      );
      expect(await bindable(free)).toBe(true);
    } finally {
      taken.close();
    }
  });

  it("names the address when --host is not one of this machine's", async () => {
    expect(await holdPorts("192.0.2.1", [{ port: 0, flag: "port" }])).toBe(
      "cannot listen on 192.0.2.1:0 (--port): 192.0.2.1 is not an address of this machine (EADDRNOTAVAIL); check --host.",
    );
  });
});
