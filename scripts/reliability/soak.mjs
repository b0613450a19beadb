#!/usr/bin/env node
// Soak: the built server (dist/) under a steady request rate on 127.0.0.1 for a bounded time,
// sampling its RSS and heap and the client-side latency, then SIGTERM and a report.
// Usage: npm run soak -- [--duration SECONDS (600)] [--rate RPS (200)] [--out FILE]
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "600" },
    rate: { type: "string", default: "200" },
    out: { type: "string" },
  },
});
const durationS = Number(values.duration);
const rate = Number(values.rate);
if (!(durationS > 0 && durationS <= 3600) || !(rate > 0 && rate <= 2000)) {
  console.error("--duration must be 1..3600 seconds and --rate 1..2000 requests per second");
  process.exit(2);
}
const WINDOW_S = Math.min(60, Math.max(5, Math.floor(durationS / 10)));
const MAX_IN_FLIGHT = 256;

/** @returns {Promise<number>} */
const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = /** @type {import("node:net").AddressInfo} */ (s.address());
      s.close(() => resolve(port));
    });
  });

const dir = mkdtempSync(join(tmpdir(), "tollgate-soak-"));
const configPath = join(dir, "config.yaml");
writeFileSync(configPath, "defaultMode: enforce\n");
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
    "--config",
    configPath,
  ],
  { stdio: ["ignore", "ignore", "pipe"] },
);
let stderr = "";
child.stderr.on("data", (/** @type {Buffer} */ d) => {
  stderr += d;
});
/** @type {Promise<{ code: number | null; signal: NodeJS.Signals | null }>} */
const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));

/** @typedef {{ apiVersion: string; kind: string; metadata: { name: string; namespace?: string } } & Record<string, unknown>} KubeObject */

/**
 * @param {string} name
 * @param {object[]} containers
 * @returns {KubeObject}
 */
const pod = (name, containers) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "soak" },
  spec: { containers },
});
/**
 * Container `i`, which passes the resource and security rules when `good`.
 * @param {number} i
 * @param {boolean} good
 */
const container = (i, good) => ({
  name: `c${i}`,
  image: `registry.example.com/app:${i}.0`,
  ...(good
    ? {
        securityContext: { runAsNonRoot: true, allowPrivilegeEscalation: false },
        resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "1", memory: "64Mi" } },
      }
    : {}),
});
/** @type {KubeObject[]} */
const objects = [
  pod("root", [container(0, false)]),
  pod("good", [container(0, true)]),
  pod(
    "big",
    Array.from({ length: 60 }, (_, i) => container(i, i % 2 === 0)),
  ),
  {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "api", namespace: "soak" },
    spec: { replicas: 3, template: { spec: { containers: [container(1, true)] } } },
  },
  {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name: "ops" },
    rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["*"] }],
  },
];
let sequence = 0;
function nextBody() {
  const n = sequence++;
  const uid = `soak-${n}`;
  if (n % 50 === 49) return { uid, body: '{"apiVersion":"admission.k8s.io/v1",', status: 400 };
  const object = /** @type {KubeObject} */ (objects[n % objects.length]);
  const group = object.apiVersion.includes("/") ? object.apiVersion.split("/")[0] : "";
  const review = {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid,
      kind: { group, version: "v1", kind: object.kind },
      operation: n % 7 === 0 ? "UPDATE" : "CREATE",
      namespace: object.metadata.namespace,
      name: object.metadata.name,
      userInfo: { username: "soak" },
      object,
      oldObject: n % 7 === 0 ? object : null,
    },
  };
  return { uid, body: JSON.stringify(review), status: 200 };
}

const ca = () => readFileSync(join(dir, "certs", "ca.crt"), "utf8");
const agent = new Agent({ keepAlive: true, maxSockets: 32 });
/**
 * One request; a failure resolves as status 0 with the error's message.
 * @param {string} path
 * @param {string} body
 * @returns {Promise<{ status: number; text: string }>}
 */
function send(path, body, method = "POST") {
  return new Promise((resolve) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path,
        method,
        agent,
        ca: ca(),
        servername: "localhost",
        headers: { "content-type": "application/json" },
      },
      (res) => {
        /** @type {Buffer[]} */
        const chunks = [];
        res.on("data", (/** @type {Buffer} */ c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      },
    );
    req.on("error", (error) => resolve({ status: 0, text: error.message }));
    req.end(body);
  });
}

async function metricsSample() {
  const pid = child.pid;
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  let heapUsed = 0;
  try {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    heapUsed = Number(/^nodejs_heap_size_used_bytes (\S+)$/m.exec(text)?.[1] ?? 0);
  } catch {
    // The metrics port may be busy for a moment; the sample keeps heap 0 rather than failing the soak.
  }
  return { rssMiB: rssKb / 1024, heapMiB: heapUsed / 1048576 };
}

const deadline = Date.now() + 20_000;
for (;;) {
  try {
    if ((await send("/readyz", "", "GET")).status === 200) break;
  } catch {
    // Not listening yet: poll again until the deadline.
  }
  if (Date.now() > deadline || child.exitCode !== null) {
    console.error(`the server did not become ready:\n${stderr}`);
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 200));
}

/**
 * One sampling window's figures; latencies in ms.
 * @typedef {{ t: number; requests: number; p50: number; p99: number; max: number; errors: number; saturated: number; rssMiB: number; heapMiB: number }} Window
 */
/** @typedef {{ latencies: number[]; errors: number; saturated: number }} Counting the window being counted */
/** @type {Window[]} */
const windows = [];
/** @type {Counting} */
let current = { latencies: [], errors: 0, saturated: 0 };
let inFlight = 0;
let sent = 0;
let wrong = 0;
/** @type {{ uid: string; status: number; text: string }[]} */
const firstWrong = [];
const started = performance.now();
const end = started + durationS * 1000;

function fire() {
  if (inFlight >= MAX_IN_FLIGHT) {
    current.saturated++;
    return;
  }
  const { uid, body, status } = nextBody();
  const t0 = performance.now();
  inFlight++;
  sent++;
  send("/validate", body).then((res) => {
    inFlight--;
    // Counted in the window it completes in, so that each window's list is whole when sorted.
    const window = current;
    window.latencies.push(performance.now() - t0);
    const ok = res.status === status && (status !== 200 || uidOf(res.text) === uid);
    if (!ok) {
      wrong++;
      window.errors++;
      if (firstWrong.length < 5) firstWrong.push({ uid, status: res.status, text: res.text.slice(0, 200) });
    }
  });
}

/**
 * The uid an answer names; undefined when it is not an AdmissionReview (which counts as wrong,
 * where a throw would end the soak).
 * @param {string} text
 */
function uidOf(text) {
  try {
    return /** @type {{ response?: { uid?: unknown } }} */ (JSON.parse(text)).response?.uid;
  } catch {
    return undefined;
  }
}

/**
 * @param {number[]} sorted
 * @param {number} p from 0 to 1
 */
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
let due = 0;
async function closeWindow() {
  const done = current;
  current = { latencies: [], errors: 0, saturated: 0 };
  const sorted = done.latencies.sort((a, b) => a - b);
  const sample = await metricsSample();
  const row = {
    t: Math.round((performance.now() - started) / 1000),
    requests: sorted.length,
    p50: +pct(sorted, 0.5).toFixed(2),
    p99: +pct(sorted, 0.99).toFixed(2),
    max: +(sorted.at(-1) ?? 0).toFixed(2),
    errors: done.errors,
    saturated: done.saturated,
    rssMiB: +sample.rssMiB.toFixed(1),
    heapMiB: +sample.heapMiB.toFixed(1),
  };
  windows.push(row);
  console.log(JSON.stringify(row));
}
const sampler = setInterval(() => {
  if (performance.now() < end - 1000) void closeWindow();
}, WINDOW_S * 1000);
await new Promise((/** @type {(value?: undefined) => void} */ resolve) => {
  const tick = setInterval(() => {
    const now = performance.now();
    const target = Math.floor(((Math.min(now, end) - started) / 1000) * rate);
    while (due < target) {
      due++;
      fire();
    }
    if (now >= end) {
      clearInterval(tick);
      resolve();
    }
  }, 5);
});
clearInterval(sampler);
while (inFlight > 0) await new Promise((r) => setTimeout(r, 50));
await closeWindow();
agent.destroy();
child.kill("SIGTERM");
const exit = await exited;
rmSync(dir, { recursive: true, force: true });

const first = windows[0];
const last = windows.at(-1);
const summary = {
  command: `npm run soak -- --duration ${durationS} --rate ${rate}`,
  node: process.version,
  durationS,
  rate,
  windowS: WINDOW_S,
  sent,
  wrong,
  firstWrong,
  start: first,
  settled: windows[1],
  end: last,
  rssGrowthMiB: first && last ? +(last.rssMiB - first.rssMiB).toFixed(1) : undefined,
  heapGrowthMiB: first && last ? +(last.heapMiB - first.heapMiB).toFixed(1) : undefined,
  exit,
};
console.log(JSON.stringify(summary, null, 2));
if (values.out) writeFileSync(values.out, `${JSON.stringify({ summary, windows }, null, 2)}\n`);
process.exitCode = wrong === 0 && exit.code === 0 ? 0 : 1;
