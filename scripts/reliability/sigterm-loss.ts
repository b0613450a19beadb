// SIGTERM under keep-alive load: `tollgate serve` from the sources in a child process on 127.0.0.1,
// CLIENTS keep-alive clients posting reviews in a loop (retiring a connection on `Connection: close`,
// as the apiserver's Go client does), SIGTERM, and the count of requests sent and never answered.
// Bounded: each run stops by itself once the server is gone.
// Usage: node --import ./test/reliability/ts-register.mjs scripts/reliability/sigterm-loss.ts \
//          [--runs 5] [--delay 0] [--clients 16]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { keepAliveLoad, startServe } from "../../test/reliability/support.js";
import { review, rootPod } from "../../test/support/reviews.js";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    delay: { type: "string", default: "0" },
    clients: { type: "string", default: "16" },
  },
});
const runs = Number(values.runs);
const clients = Number(values.clients);
if (!(runs >= 1 && runs <= 50) || !(clients >= 1 && clients <= 256)) {
  console.error("--runs must be 1..50 and --clients 1..256");
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), "tollgate-sigterm-"));
try {
  for (let run = 1; run <= runs; run++) {
    const child = await startServe(join(dir, "certs"), ["--shutdown-delay", values.delay]);
    const load = keepAliveLoad({
      port: child.port,
      ca: child.ca,
      clients,
      body: (uid) => JSON.stringify(review(rootPod(), { uid })),
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    child.process.kill("SIGTERM");
    const code = await child.exited;
    const tally = await load.done;
    console.log(
      JSON.stringify({
        run,
        delay: Number(values.delay),
        exit: code,
        sent: tally.sent,
        answered: tally.answered,
        lost: tally.lost.length,
        wrong: tally.wrong.length,
        refused: tally.refused,
        closing: tally.closing,
        errors: [...new Set(tally.lost.map((l) => `${l.error}${l.reused ? " (reused)" : ""}`))],
      }),
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
