// Connection lock-out: `tollgate serve` from the sources in a child process on 127.0.0.1, with its
// default limits. --peers peers (127.0.0.2, .3…) open --connections keep-alive connections in all that
// each make one request and stay idle; then another peer (127.0.0.200) makes --probes requests on
// fresh connections.
// Then --slow plain-TCP connections send the metrics port a header byte a second, and the script
// counts how many are still open after 5 s. Prints the counts and the server's drop counters.
// Bounded in count and time; stops by itself.
// Usage: node --import ./test/reliability/ts-register.mjs scripts/reliability/connection-lockout.ts \
//          [--connections 2100] [--peers 1] [--probes 20] [--slow 500]
import { mkdtempSync, rmSync } from "node:fs";
import { connect as tcpConnect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type HeldConnection, holdConnection, startServe } from "../../test/reliability/support.js";
import { review, rootPod } from "../../test/support/reviews.js";

const { values } = parseArgs({
  options: {
    connections: { type: "string", default: "2100" },
    peers: { type: "string", default: "1" },
    probes: { type: "string", default: "20" },
    slow: { type: "string", default: "500" },
  },
});
const connections = Number(values.connections);
const probes = Number(values.probes);
const slow = Number(values.slow);
const peers = Number(values.peers);
if (
  !(connections >= 1 && connections <= 5000) ||
  !(peers >= 1 && peers <= 100) ||
  !(probes >= 1 && probes <= 200) ||
  !(slow >= 0 && slow <= 5000)
) {
  console.error("--connections must be 1..5000, --peers 1..100, --probes 1..200, --slow 0..5000");
  process.exit(2);
}

const body = JSON.stringify(review(rootPod(), { uid: "lockout" }));
const tally = (held: HeldConnection[]) => {
  const counts: Record<string, number> = {};
  for (const h of held) {
    const key = h.status === 200 ? "answered" : (h.error ?? `status ${h.status}`);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
};

const dir = mkdtempSync(join(tmpdir(), "tollgate-lockout-"));
const child = await startServe(join(dir, "certs"));
const held: HeldConnection[] = [];
const slowSockets: Socket[] = [];
try {
  for (let at = 0; at < connections; at += 64) {
    const batch = Array.from({ length: Math.min(64, connections - at) }, (_, i) =>
      holdConnection(child.port, child.ca, `127.0.0.${2 + ((at + i) % peers)}`, body),
    );
    held.push(...(await Promise.all(batch)));
  }
  console.log(JSON.stringify({ peers, opened: connections, ...tally(held) }));

  const probed = await Promise.all(
    Array.from({ length: probes }, () => holdConnection(child.port, child.ca, "127.0.0.200", body)),
  );
  for (const p of probed) p.socket?.destroy();
  console.log(JSON.stringify({ peer: "127.0.0.200", probes, ...tally(probed) }));

  if (slow > 0) {
    let closed = 0;
    for (let i = 0; i < slow; i++) {
      const socket = tcpConnect(child.metricsPort, "127.0.0.1", () =>
        socket.write("GET /metrics HTTP/1.1\r\n"),
      );
      socket.on("error", () => {});
      socket.on("close", () => closed++);
      slowSockets.push(socket);
    }
    const trickle = setInterval(() => {
      for (const s of slowSockets) if (!s.destroyed) s.write("X");
    }, 1_000);
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    clearInterval(trickle);
    console.log(JSON.stringify({ metricsPort: "slow headers", opened: slow, openAfter5s: slow - closed }));
  }

  for (const s of slowSockets) s.destroy();
  const scrape = await fetch(`http://127.0.0.1:${child.metricsPort}/metrics`).then((r) => r.text());
  console.log(
    scrape
      .split("\n")
      .filter((l) => l.startsWith("tollgate_connections_dropped_total"))
      .join("\n"),
  );
} finally {
  for (const h of held) h.socket?.destroy();
  for (const s of slowSockets) s.destroy();
  child.process.kill("SIGTERM");
  console.log(JSON.stringify({ exit: await child.exited }));
  rmSync(dir, { recursive: true, force: true });
}
