import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { LOG_FLUSH_INTERVAL_MS } from "../../src/cli/serving.js";
import { review, rootPod } from "../support/reviews.js";
import { keepAliveLoad, killServeChildren, type ServeChild, startServe } from "./support.js";

const dir = mkdtempSync(join(tmpdir(), "tollgate-decision-log-"));
afterEach(killServeChildren);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function post(child: ServeChild, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: child.port,
        path: "/validate",
        method: "POST",
        agent: false,
        ca: child.ca,
        servername: "localhost",
        headers: { "content-type": "application/json" },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

// serve buffers its log lines and writes them asynchronously (src/cli/serving.ts).
describe("the decision log of tollgate serve", () => {
  it("writes a lone decision within the flush interval, without waiting for the buffer to fill", async () => {
    const child = await startServe(join(dir, "certs"));
    expect(await post(child, JSON.stringify(review(rootPod(), { uid: "lone" })))).toBe(200);
    const answered = performance.now();
    const giveUp = answered + 5 * LOG_FLUSH_INTERVAL_MS;
    while (!child.logs.some((l) => l.msg === "decision") && performance.now() < giveUp) await sleep(20);
    expect(child.logs.filter((l) => l.msg === "decision")).toMatchObject([
      { uid: "lone", verdict: "denied", rules: expect.arrayContaining(["run-as-root"]) as unknown },
    ]);
    // A timer fires late on a busy machine.
    expect(performance.now() - answered).toBeLessThan(LOG_FLUSH_INTERVAL_MS + 1_000);
    child.process.kill("SIGTERM");
    expect(await child.exited).toBe(0);
  });

  it("has written the decision line of every review it answered, and of no other, when it exits on a SIGTERM under load", async () => {
    const child = await startServe(join(dir, "certs"), ["--shutdown-delay", "0"]);
    const load = keepAliveLoad({
      port: child.port,
      ca: child.ca,
      clients: 16,
      maxRequests: 5_000,
      maxMs: 10_000,
      body: (uid) => JSON.stringify(review(rootPod(), { uid })),
    });
    const giveUp = performance.now() + 10_000;
    while (load.tally.answered <= 200 && performance.now() < giveUp) await sleep(10);
    const { sent, answered, lost, wrong } = load.tally;
    const inFlight = sent - answered - lost.length - wrong.length;
    child.process.kill("SIGTERM");
    expect(await child.exited).toBe(0);
    const tally = await load.done;
    await child.closed;

    expect(inFlight).toBeGreaterThan(0);
    // Each client stopped because the server had gone, not because the load ran out.
    expect(tally.refused).toBe(16);
    expect(tally.lost).toEqual([]);
    expect(tally.wrong).toEqual([]);
    expect(tally.answered).toBeGreaterThan(200);
    const decided = child.logs.filter((l) => l.msg === "decision").map((l) => l.uid);
    expect(decided.length).toBe(tally.answered);
    expect(decided.sort()).toEqual([...tally.answeredUids].sort());
    expect(child.logs.at(-1)?.msg).toBe("stopped");
  });
});
