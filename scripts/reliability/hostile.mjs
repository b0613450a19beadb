#!/usr/bin/env node
// Hostile requests against the built server (dist/) on 127.0.0.1: for each scenario a fresh
// `tollgate serve`, one hostile request (or a series), small requests timed meanwhile, then the
// answer's size, the server's peak RSS (VmHWM) and its longest log line.
// Usage: npm run build && node scripts/reliability/hostile.mjs [SCENARIO...]
// Scenarios: long-name long-object-name exempt-ids budget kinds big-kinds (all when none is named).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { Agent, request } from "node:https";
import { request as httpRequest } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const MIB = 1024 * 1024;

/** @returns {Promise<number>} */
const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = /** @type {import("node:net").AddressInfo} */ (s.address());
      s.close(() => resolve(port));
    });
  });

/** @typedef {{ kind?: string; metadata?: { name?: string } & Record<string, unknown> } & Record<string, unknown>} KubeObject */

/**
 * An AdmissionReview of `object`, as JSON.
 * @param {KubeObject} object
 * @param {{ uid?: string; username?: string; groups?: string[]; kind?: string }} [options]
 */
const review = (object, { uid = "hostile", username = "alice", groups = [], kind } = {}) =>
  JSON.stringify({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid,
      kind: { group: "", version: "v1", kind: kind ?? object.kind },
      resource: { group: "", version: "v1", resource: "pods" },
      name: object.metadata?.name ?? "",
      namespace: "team-a",
      operation: "CREATE",
      userInfo: { username, groups },
      object,
      oldObject: null,
      dryRun: false,
    },
  });

/**
 * @param {string} name
 * @param {Record<string, unknown>} spec
 * @param {Record<string, string>} [annotations]
 * @returns {KubeObject}
 */
const pod = (name, spec, annotations) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "team-a", ...(annotations ? { annotations } : {}) },
  spec,
});

/** @param {number} days */
const inDays = (days) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

async function startServer() {
  const dir = mkdtempSync(join(tmpdir(), "tollgate-hostile-"));
  const port = await freePort();
  const metricsPort = await freePort();
  const child = spawn(
    process.execPath,
    [
      "dist/src/main.js",
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--metrics-port",
      String(metricsPort),
      "--certs-dir",
      join(dir, "certs"),
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let longestLine = 0;
  let pending = 0;
  child.stdout.on("data", (/** @type {Buffer} */ chunk) => {
    let from = 0;
    for (;;) {
      const nl = chunk.indexOf(10, from);
      if (nl === -1) {
        pending += chunk.length - from;
        break;
      }
      longestLine = Math.max(longestLine, pending + nl - from);
      pending = 0;
      from = nl + 1;
    }
  });
  child.stderr.resume();
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  /** @type {string | undefined} */
  let ca;
  /**
   * @param {string} body
   * @returns {Promise<{ status: number | undefined; bytes: number; text: string; ms: number }>}
   */
  const post = (body) =>
    new Promise((resolve, reject) => {
      const started = performance.now();
      const req = request(
        {
          host: "127.0.0.1",
          port,
          path: "/validate/enforce",
          method: "POST",
          ca,
          servername: "localhost",
          agent,
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        },
        (res) => {
          /** @type {Buffer[]} */
          const chunks = [];
          res.on("data", (/** @type {Buffer} */ c) => chunks.push(c));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            resolve({
              status: res.statusCode,
              bytes: Buffer.byteLength(text),
              text,
              ms: performance.now() - started,
            });
          });
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  /** @returns {Promise<{ bytes: number; decisionSeries: number }>} */
  const scrape = () =>
    new Promise((resolve, reject) => {
      const req = httpRequest({ host: "127.0.0.1", port: metricsPort, path: "/metrics" }, (res) => {
        let bytes = 0;
        let series = 0;
        res.on("data", (/** @type {Buffer} */ c) => {
          bytes += c.length;
          series += c.toString("latin1").split("tollgate_decisions_total{").length - 1;
        });
        res.on("end", () => resolve({ bytes, decisionSeries: series }));
      });
      req.on("error", reject);
      req.end();
    });
  for (let i = 0; ; i++) {
    try {
      ca = readFileSync(join(dir, "certs", "ca.crt"), "utf8");
      await post(review(pod("warm-up", { containers: [{ name: "a", image: "a:1" }] })));
      break;
    } catch {
      if (i > 100) throw new Error("the server did not start");
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  /** @param {string} field of /proc/PID/status, in MiB */
  const status = (field) => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(
      readFileSync(`/proc/${child.pid}/status`, "utf8"),
    );
    if (!match) throw new Error(`the server (pid ${child.pid}) has no ${field}: did it exit?`);
    return Math.round(Number(match[1]) / 1024);
  };
  return {
    post,
    scrape,
    peakRssMiB: () => status("VmHWM"),
    rssMiB: () => status("VmRSS"),
    longestLine: () => longestLine,
    close: () => {
      agent.destroy();
      child.kill("SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** @typedef {Awaited<ReturnType<typeof startServer>>} Server */
/** @typedef {Awaited<ReturnType<Server["post"]>>} Answer */

/**
 * Send `body` while a small request goes every 20 ms; the small requests' worst latency.
 * @param {Server} server
 * @param {string} body
 */
async function withProbe(server, body) {
  const small = review(pod("small", { containers: [{ name: "a", image: "a:1" }] }), { uid: "small" });
  let worst = 0;
  let running = true;
  const probe = (async () => {
    while (running) {
      const { ms } = await server.post(small);
      worst = Math.max(worst, ms);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const answer = await server.post(body);
  running = false;
  await probe;
  return { answer, smallWorstMs: Math.round(worst) };
}

/** @param {Answer} answer */
function summary(answer) {
  /** @type {{ allowed?: boolean; warnings?: string[]; status?: { message?: string } }} */
  let response = {};
  try {
    response = JSON.parse(answer.text).response ?? {};
  } catch {
    // not JSON; the size says enough
  }
  return {
    status: answer.status,
    answerBytes: answer.bytes,
    ms: Math.round(answer.ms),
    allowed: response.allowed,
    warnings: response.warnings?.length ?? 0,
    messageBytes: Buffer.byteLength(response.status?.message ?? ""),
    messageHead: (response.status?.message ?? response.warnings?.[0] ?? "").slice(0, 160),
  };
}

/** @type {Record<string, () => string>} */
const SCENARIOS = {
  // A 7 MiB container name in a Pod that breaks the usual rules.
  "long-name": () => review(pod("long-name", { containers: [{ name: "a".repeat(7 * MIB), image: "a:1" }] })),
  // A 3.5 MiB object name, in the object and in the request (7 MiB in all): the log lines quote it.
  "long-object-name": () => review(pod("n".repeat(3.5 * MIB), { containers: [{ name: "a", image: "a:1" }] })),
  // A policy admin's exemption annotation that lists 3.5 M ids that are no rule.
  "exempt-ids": () =>
    review(
      pod(
        "exempt-ids",
        { containers: [{ name: "a", image: "a:1" }] },
        {
          "tollgate.dev/exempt": "x,".repeat(3_500_000),
          "tollgate.dev/exempt-reason": "hostile",
          "tollgate.dev/exempt-until": inDays(10),
        },
      ),
      { username: "root", groups: ["system:masters"] },
    ),
  // 100 000 init containers, hostNetwork and a hostPath volume of /.
  budget: () =>
    review(
      pod("budget", {
        hostNetwork: true,
        volumes: [{ name: "root", hostPath: { path: "/" } }],
        initContainers: Array.from({ length: 100_000 }, (_, i) => ({ name: `i${i}`, image: "a:1" })),
        containers: [{ name: "a", image: "a:1" }],
      }),
    ),
};

/** @param {string} name */
async function runOne(name) {
  const server = await startServer();
  try {
    const before = server.rssMiB();
    if (name === "kinds" || name === "big-kinds") {
      const count = name === "kinds" ? 20_000 : 6;
      /** @type {(i: number) => string} */
      const kindOf = name === "kinds" ? (i) => `Kind${i}` : (i) => `${i}`.padEnd(3.5 * MIB, "k");
      const started = performance.now();
      for (let i = 0; i < count; i++) {
        await server.post(
          review(pod(`k${i}`, { containers: [{ name: "a", image: "a:1" }] }), { kind: kindOf(i) }),
        );
      }
      const scrape = await server.scrape();
      await new Promise((r) => setTimeout(r, 500));
      return {
        scenario: name,
        requests: count,
        seconds: Math.round((performance.now() - started) / 100) / 10,
        rssBeforeMiB: before,
        rssAfterMiB: server.rssMiB(),
        peakRssMiB: server.peakRssMiB(),
        metricsBytes: scrape.bytes,
        decisionSeries: scrape.decisionSeries,
        longestLogLine: server.longestLine(),
      };
    }
    const scenario = SCENARIOS[name];
    if (!scenario) throw new Error(`unknown scenario ${name}`);
    const body = scenario();
    const { answer, smallWorstMs } = await withProbe(server, body);
    // The log lines reach us through a pipe after the answer does.
    await new Promise((r) => setTimeout(r, 500));
    return {
      scenario: name,
      requestBytes: Buffer.byteLength(body),
      ...summary(answer),
      smallWorstMs,
      rssBeforeMiB: before,
      peakRssMiB: server.peakRssMiB(),
      longestLogLine: server.longestLine(),
    };
  } finally {
    server.close();
  }
}

const names = process.argv.slice(2);
for (const name of names.length > 0 ? names : [...Object.keys(SCENARIOS), "kinds", "big-kinds"]) {
  if (!(name in SCENARIOS) && name !== "kinds" && name !== "big-kinds") {
    console.error(`unknown scenario ${name}`);
    process.exit(2);
  }
  console.log(JSON.stringify(await runOne(name)));
}
