// `npm run bench`: tollgate against a bare Node HTTPS server on the same machine, in one run.
// See BENCHMARKS.md for the method. Only 127.0.0.1 is ever a target; every load run is bounded
// by wrk's own duration and by a kill timer, and the whole run by a deadline.
//
// Usage: node scripts/bench/run.mjs [--quick] [--rounds N] [--seconds S] [--connections C]
//                                   [--update-doc [--doc-section NAME]] [--peer-name NAME
//                                   --peer-url URL [--peer-pid PID] [--peer-version TEXT]]
//   --quick        CI mode: Pod body only, short runs, no peer; exits 1 when tollgate / bare on the
//                  Pod body falls below QUICK_FLOOR in every round.
//   --update-doc   write the tables into BENCHMARKS.md between the bench markers.
//   --doc-section  with --update-doc: write between the markers <!-- bench:NAME:start --> and
//                  <!-- bench:NAME:end --> instead (a peer's own run, e.g. "kyverno").
//   --peer-url     an admission webhook already listening on 127.0.0.1 (started by hand, see
//                  BENCHMARKS.md) to drive with the same bodies; --peer-name names it in the table.
//                  It must serve the certificate in .bench/certs (tollgate keeps the one it finds
//                  there), so that the same CA checks every server's answers.
//   --peer-pid     the peer's process id, to read its CPU time and memory as for the other two.
//   --peer-version a line describing the peer's build, for the report.
//   --rounds N (3), --seconds S per run (10, 4 with --quick), --connections C (32)
import { execFileSync, spawn } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { get as httpGet } from "node:http";
import { request } from "node:https";
import { createServer } from "node:net";
import { cpus, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

/**
 * Quick mode fails when every round's tollgate / bare req/s ratio on the Pod body is below this.
 * Set from measurements on the 2-core CI machine (BENCHMARKS.md: with 35 rules, 0.64 median in a
 * full run, short rounds down to 0.41 on a busy machine): low enough that noise does not fail CI,
 * high enough that a regression doubling the per-request cost (about 0.27) does.
 */
const QUICK_FLOOR = 0.4;

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const WORK = join(ROOT, ".bench");
const FIXTURES = join(ROOT, "test/fixtures/admission");
const BODIES = ["pod-create", "deployment-create", "deployment-update", "clusterrole-create"];
const HOST = "127.0.0.1";

/**
 * One wrk run, as scripts/bench/wrk-post.lua reports it; latencies in ms. A run against a server
 * whose process this script can read also has its memory and CPU time per request.
 * @typedef {object} Run
 * @property {number} rps
 * @property {number} p50
 * @property {number} p90
 * @property {number} p99
 * @property {number} max
 * @property {number} requests
 * @property {number} errors
 * @property {number} [rssMb]
 * @property {number} [peakMb]
 * @property {number} [cpuUs]
 */
/** @typedef {{ major: number; minor: number; ms: number }} GcDelta garbage collections in one run */
/** @typedef {{ name: string; url: string; pid: number | undefined; metrics?: string }} Server */
/** @typedef {import("node:child_process").ChildProcess & { lines: number }} Started a server, and how many lines it wrote to stdout */
/**
 * A server's figures on one body, at full rate: medians over the rounds.
 * @typedef {{ name: string; rps: number; p50: number; p99: number; rssMb: number; cpuUs: number; errors: number }} Row
 */
/**
 * @typedef {object} BodyResult
 * @property {string} body
 * @property {number} bytes
 * @property {string} verdict tollgate's
 * @property {Record<string, string>} verdicts by server
 * @property {Row[]} servers tollgate, bare, then the peer if any
 * @property {number} ratio tollgate / bare req/s, the median of the rounds'
 * @property {number[]} ratios each round's
 * @property {number | undefined} peerRatio tollgate / peer req/s
 * @property {number[] | undefined} peerRatios
 * @property {number} cpuRatio bare / tollgate CPU per request
 */
/**
 * A server's figures on one body, paced.
 * @typedef {{ name: string; rps: number; p50: number; p99: number; p99s: number[]; gc: GcDelta | undefined }} PacedRow
 */
/** @typedef {{ body: string; target: number; connections: number; delayMs: number; servers: PacedRow[] }} Paced */
/** @typedef {{ rules: number; results: { body: string; findings: number; engine: number; pipeline: number }[] }} EngineFigures as scripts/bench/engine.mjs prints them */
/** @typedef {{ documents: number; seconds: number; docsPerSecond: number; sarifSeconds: number }} CheckFigure */
/**
 * What the ten policies of scripts/bench/vaps/ add to tollgate's CPU per request on the Pod body
 * (issue 20's target: at most 15 %), from interleaved rounds of tollgate without and with them.
 * @typedef {{ policies: number; verdict: string; builtInCpuUs: number; withCpuUs: number; addedPercent: number; rounds: { builtIn: number; with: number }[] }} VapFigure
 */
/**
 * @typedef {object} Result
 * @property {ReturnType<typeof machine>} machine
 * @property {boolean} quick
 * @property {number} rounds
 * @property {number} seconds
 * @property {number} connections
 * @property {{ name: string; version: string | undefined; url: string } | undefined} peer
 * @property {BodyResult[]} bodies
 * @property {Paced[]} paced
 * @property {{ name: string; rssMb: number; peakMb: number }[]} peak
 * @property {number} logLines
 * @property {number} tollgateRequests
 * @property {EngineFigures} engine
 * @property {CheckFigure | undefined} check
 * @property {VapFigure | undefined} vaps
 */

const { values: flags } = parseArgs({
  options: {
    help: { type: "boolean", short: "h", default: false },
    quick: { type: "boolean", default: false },
    rounds: { type: "string" },
    seconds: { type: "string" },
    connections: { type: "string", default: "32" },
    "update-doc": { type: "boolean", default: false },
    "doc-section": { type: "string" },
    "peer-name": { type: "string", default: "peer" },
    "peer-url": { type: "string" },
    "peer-pid": { type: "string" },
    "peer-version": { type: "string" },
  },
});
if (flags.help) {
  // The usage is the comment at the top of this file.
  const source = readFileSync(fileURLToPath(import.meta.url), "utf8");
  const usage = source.slice(source.indexOf("// Usage:"), source.indexOf("\nimport "));
  process.stdout.write(`${usage.replace(/^\/\/ ?/gm, "")}\n`);
  process.exit(0);
}
const quick = flags.quick;
const rounds = Number(flags.rounds ?? 3);
const seconds = Number(flags.seconds ?? (quick ? 4 : 10));
const connections = Number(flags.connections);
for (const [flag, value] of /** @type {const} */ ([
  ["rounds", rounds],
  ["seconds", seconds],
  ["connections", connections],
])) {
  if (!Number.isInteger(value) || value < 1) {
    process.stderr.write(
      `bench: --${flag} must be a whole number from 1, got ${JSON.stringify(flags[flag])}\n`,
    );
    process.exit(2);
  }
}
// Checked now, not after the run: the markers --update-doc writes between.
const section = flags["doc-section"];
if (section !== undefined && !/^[a-z0-9-]+$/.test(section)) {
  process.stderr.write(
    `bench: --doc-section ${JSON.stringify(section)}: lower-case letters, digits and dashes only\n`,
  );
  process.exit(2);
}
/** @type {[string, string]} */
const docMarkers = [
  `<!-- bench${section ? `:${section}` : ""}:start -->`,
  `<!-- bench${section ? `:${section}` : ""}:end -->`,
];
if (flags["update-doc"]) {
  const text = readFileSync(join(ROOT, "BENCHMARKS.md"), "utf8");
  if (!docMarkers.every((m) => text.includes(m))) {
    process.stderr.write(`bench: BENCHMARKS.md has no ${docMarkers.join(" ... ")} markers\n`);
    process.exit(2);
  }
}
const bodies = quick ? ["pod-create"] : BODIES;
const peerUrl = quick ? undefined : flags["peer-url"];

/** @type {Set<import("node:child_process").ChildProcess>} */
const children = new Set();
const deadline = setTimeout(
  () => {
    process.stderr.write("bench: over the time limit, stopping\n");
    stopAll();
    process.exit(3);
  },
  (quick ? 5 : 30) * 60_000,
);
deadline.unref();

function stopAll() {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
}
process.once("SIGINT", () => {
  stopAll();
  process.exit(130);
});

/** @param {string} line */
const log = (line) => process.stderr.write(`bench: ${line}\n`);

// ---------------------------------------------------------------- machine and tools

/**
 * The command's stdout, trimmed, or undefined when it fails.
 * @param {string} command
 * @param {string[]} args
 */
function tryRun(command, args) {
  try {
    return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  } catch {
    return undefined;
  }
}

function ensureWrk() {
  if (tryRun("wrk", ["-v"]) !== undefined || tryRun("sh", ["-c", "command -v wrk"])) return;
  if (process.getuid?.() === 0 && tryRun("sh", ["-c", "command -v apt-get"])) {
    log("wrk is missing: apt-get install -y wrk");
    execFileSync(
      "sh",
      [
        "-c",
        "apt-get install -y wrk >/dev/null 2>&1 || (apt-get update >/dev/null && apt-get install -y wrk >/dev/null)",
      ],
      {
        stdio: "inherit",
      },
    );
    return;
  }
  throw new Error("wrk is not installed and cannot be installed here: apt-get install wrk (Debian package)");
}

const pinned = cpus().length >= 2 && tryRun("sh", ["-c", "command -v taskset"]) !== undefined;
/**
 * Servers on core 0, the load generator on core 1, so they do not take turns on one core.
 * @param {number} core
 * @param {string} command
 * @param {string[]} args
 * @returns {[string, string[]]}
 */
function onCore(core, command, args) {
  return pinned ? ["taskset", ["-c", String(core), command, ...args]] : [command, args];
}

function machine() {
  const wrkVersion = (tryRun("sh", ["-c", "wrk -v 2>&1 | head -1"]) ?? "").split(" ").slice(0, 2).join(" ");
  /** @param {string} file @returns {string} */
  const versionIn = (file) =>
    /** @type {{ version: string }} */ (JSON.parse(readFileSync(file, "utf8"))).version;
  /** @param {string} name */
  const dep = (name) => versionIn(join(ROOT, "node_modules", name, "package.json"));
  return {
    date: new Date().toISOString().slice(0, 16).replace("T", " ") + " UTC",
    tollgate: `${versionIn(join(ROOT, "package.json"))} (${tryRun("git", ["-C", ROOT, "rev-parse", "--short", "HEAD"]) ?? "?"})`,
    node: process.version,
    fastify: dep("fastify"),
    pino: dep("pino"),
    wrk: wrkVersion,
    cpu: `${cpus().length} x ${cpus()[0]?.model ?? "?"}`,
    memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
    kernel: tryRun("uname", ["-r"]) ?? "?",
    pinned,
    load: readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" "),
  };
}

// ---------------------------------------------------------------- processes

/** @returns {Promise<number>} */
function freePort() {
  return new Promise((done, fail) => {
    const probe = createServer();
    probe.once("error", fail);
    probe.listen(0, HOST, () => {
      const { port } = /** @type {import("node:net").AddressInfo} */ (probe.address());
      probe.close(() => done(port));
    });
  });
}

/**
 * The Node flags the image starts tollgate with: what stands between the node binary and main.js in
 * the Dockerfile's ENTRYPOINT, so that the bench measures the server as it ships.
 * @returns {string[]}
 */
function imageNodeFlags() {
  const line = readFileSync(join(ROOT, "Dockerfile"), "utf8")
    .split("\n")
    .find((text) => text.startsWith("ENTRYPOINT "));
  if (line === undefined) throw new Error("Dockerfile: no ENTRYPOINT line");
  const entrypoint = /** @type {string[]} */ (JSON.parse(line.slice("ENTRYPOINT ".length)));
  const main = entrypoint.indexOf("/app/dist/src/main.js");
  if (main < 1) throw new Error(`Dockerfile: ENTRYPOINT does not run /app/dist/src/main.js: ${line}`);
  return entrypoint.slice(1, main);
}

/**
 * Start a server on core 0. Its stdout is a pipe that this process drains and counts lines of,
 * as a container runtime reads a container's stdout; stderr goes to `logFile`.
 * @param {string} name
 * @param {string} command
 * @param {string[]} args
 * @param {string} logFile
 * @returns {Started}
 */
function start(name, command, args, logFile) {
  const err = openSync(logFile, "a");
  const [cmd, argv] = onCore(0, command, args);
  const child = Object.assign(spawn(cmd, argv, { cwd: ROOT, stdio: ["ignore", "pipe", err] }), { lines: 0 });
  closeSync(err);
  // stdio[1] is a pipe.
  /** @type {import("node:stream").Readable} */ (child.stdout).on("data", (/** @type {Buffer} */ chunk) => {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) child.lines++;
  });
  children.add(child);
  child.once("exit", (code, signal) => {
    children.delete(child);
    if (!stopping) log(`${name} exited early (${code ?? signal}); see ${logFile}`);
  });
  return child;
}
let stopping = false;

/**
 * `tollgate serve` from the build, with the image's Node flags, on 127.0.0.1, logging every
 * decision (`start`'s pipe counts the lines); `extra` says where its certificate and config are.
 * @param {string} name
 * @param {number} port
 * @param {number} metricsPort
 * @param {string} logFile
 * @param {string[]} extra
 */
function startTollgate(name, port, metricsPort, logFile, extra) {
  return start(
    name,
    process.execPath,
    [
      ...imageNodeFlags(),
      "dist/src/main.js",
      "serve",
      "--port",
      String(port),
      "--metrics-port",
      String(metricsPort),
      "--host",
      HOST,
      ...extra,
      "--log-level",
      "info",
    ],
    logFile,
  );
}

/**
 * @param {string} url
 * @param {string} body
 * @param {Buffer} ca
 * @returns {Promise<{ status: number | undefined; text: string }>}
 */
function post(url, body, ca) {
  return new Promise((done, fail) => {
    const req = request(
      url,
      { method: "POST", ca, headers: { "content-type": "application/json" }, timeout: 5000 },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => {
          text += chunk;
        });
        res.on("end", () => done({ status: res.statusCode, text }));
      },
    );
    req.once("timeout", () => req.destroy(new Error(`no answer from ${url} in 5 s`)));
    req.once("error", fail);
    req.end(body);
  });
}

/**
 * @param {string} url
 * @param {Buffer} ca
 * @param {Started} child
 */
async function waitHealthy(url, ca, child) {
  const until = Date.now() + 20_000;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`${url}: the server exited`);
    const ok = await new Promise((/** @type {(ok: boolean) => void} */ done) => {
      const req = request(url, { ca, timeout: 1000 }, (res) => {
        res.resume();
        done(res.statusCode === 200);
      });
      req.once("error", () => done(false));
      req.once("timeout", () => req.destroy());
      req.end();
    });
    if (ok) return;
    await new Promise((wait) => setTimeout(wait, 200));
  }
  throw new Error(`${url} did not answer in 20 s`);
}

const TICKS_PER_SECOND = Number(tryRun("getconf", ["CLK_TCK"]) ?? 100);

/**
 * CPU seconds (user + system) the process has used so far.
 * @param {number} pid
 */
function cpuOf(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/**
 * The process's resident memory now and at its peak.
 * @param {number} pid
 */
function memoryOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  /** @param {string} field */
  const kb = (field) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rssMb: kb("VmRSS") / 1024, peakMb: kb("VmHWM") / 1024 };
}

/**
 * tollgate's garbage collections so far, from its own /metrics (prom-client's default metrics):
 * a full (major) GC stops the one thread for milliseconds, which is what a p99 feels.
 * @param {string} metricsUrl
 */
async function gcOf(metricsUrl) {
  const text = await new Promise((/** @type {(body: string) => void} */ done, fail) => {
    const req = httpGet(metricsUrl, { timeout: 5000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => {
        body += chunk;
      });
      res.on("end", () => done(body));
    });
    req.once("timeout", () => req.destroy(new Error(`no answer from ${metricsUrl} in 5 s`)));
    req.once("error", fail);
  });
  const gc = { major: 0, minor: 0, seconds: 0 };
  for (const m of text.matchAll(/^nodejs_gc_duration_seconds_(count|sum)\{kind="(\w+)"\} (\S+)$/gm)) {
    const [, what, kind, value] = m;
    if (what === "sum") gc.seconds += Number(value);
    else if (kind === "major" || kind === "minor") gc[kind] += Number(value);
  }
  return gc;
}

/**
 * @param {{ major: number; minor: number; seconds: number }} after
 * @param {{ major: number; minor: number; seconds: number }} before
 * @returns {GcDelta}
 */
const gcDelta = (after, before) => ({
  major: after.major - before.major,
  minor: after.minor - before.minor,
  ms: (after.seconds - before.seconds) * 1000,
});

// ---------------------------------------------------------------- load

/**
 * One wrk run of `duration` seconds over `conns` connections, each waiting about `delayMs`
 * between requests when given.
 * @param {string} url
 * @param {string} bodyFile
 * @param {number} duration
 * @param {number} conns
 * @param {number} [delayMs]
 * @returns {Promise<Run>}
 */
function wrk(url, bodyFile, duration, conns, delayMs) {
  const args = [
    "-t1",
    `-c${conns}`,
    `-d${duration}s`,
    "--timeout",
    "5s",
    "-s",
    join(ROOT, "scripts/bench/wrk-post.lua"),
    url,
    "--",
    bodyFile,
  ];
  if (delayMs !== undefined) args.push(String(delayMs));
  const [cmd, argv] = onCore(1, "wrk", args);
  return new Promise((done, fail) => {
    const child = spawn(cmd, argv, { stdio: ["ignore", "pipe", "pipe"] });
    children.add(child);
    let out = "";
    let err = "";
    child.stdout.on("data", (/** @type {Buffer} */ chunk) => {
      out += chunk;
    });
    child.stderr.on("data", (/** @type {Buffer} */ chunk) => {
      err += chunk;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), (duration + 15) * 1000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      children.delete(child);
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (code !== 0 || !line) {
        fail(new Error(`wrk ${url} failed (${code}): ${err.trim() || out.trim()}`));
        return;
      }
      const r =
        /** @type {{ requests: number; durationUs: number; p50Us: number; p90Us: number; p99Us: number; maxUs: number; errors: Record<string, number> }} */ (
          JSON.parse(line)
        );
      const errors = Object.values(r.errors).reduce((a, b) => a + b, 0);
      done({
        rps: r.requests / (r.durationUs / 1e6),
        p50: r.p50Us / 1000,
        p90: r.p90Us / 1000,
        p99: r.p99Us / 1000,
        max: r.maxUs / 1000,
        requests: r.requests,
        errors,
      });
    });
  });
}

/**
 * @param {number[]} xs not empty (every flag that sets a count is at least 1)
 * @returns {number}
 */
const median = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const at = (/** @type {number} */ i) => /** @type {number} */ (sorted[i]);
  return sorted.length % 2 ? at(mid) : (at(mid - 1) + at(mid)) / 2;
};

/**
 * The medians of a server's wrk runs on one body: req/s, p50, p99.
 * @param {Run[]} runs
 */
const latencyMedians = (runs) => ({
  rps: median(runs.map((r) => r.rps)),
  p50: median(runs.map((r) => r.p50)),
  p99: median(runs.map((r) => r.p99)),
});

// ---------------------------------------------------------------- engine and CLI

/** @returns {EngineFigures} */
function engineFigures() {
  const files = BODIES.map((b) => join(FIXTURES, `${b}.json`));
  const [cmd, argv] = onCore(0, process.execPath, [
    join(ROOT, "scripts/bench/engine.mjs"),
    "--seconds",
    quick ? "1" : "3",
    ...files,
  ]);
  return JSON.parse(execFileSync(cmd, argv, { encoding: "utf8", timeout: 300_000 }));
}

function checkAvailable() {
  const main = join(ROOT, "dist/src/main.js");
  try {
    execFileSync(process.execPath, [main, "check", "--help"], { stdio: "ignore", timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes 10,000 documents to `file`: Deployments, Services, ConfigMaps, Pods, ClusterRoles, in turn.
 * @param {string} file
 */
function checkCorpus(file) {
  /** @type {string[]} */
  const docs = [];
  for (let i = 0; i < 10_000; i++) {
    const name = `app-${i}`;
    switch (i % 5) {
      case 0:
        docs.push(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: team-${i % 17}
spec:
  replicas: ${1 + (i % 3)}
  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}}
    spec:
      securityContext: {runAsNonRoot: true, runAsUser: 10001}
      containers:
        - name: web
          image: registry.example.com/${name}:1.${i % 9}.0
          resources:
            requests: {cpu: 100m, memory: 128Mi}
            limits: {cpu: 500m, memory: 256Mi}
          readinessProbe: {httpGet: {path: /, port: 8080}}
`);
        break;
      case 1:
        docs.push(`apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: team-${i % 17}}
spec:
  selector: {app: ${name}}
  ports: [{port: 80, targetPort: 8080}]
`);
        break;
      case 2:
        docs.push(`apiVersion: v1
kind: ConfigMap
metadata: {name: ${name}, namespace: team-${i % 17}}
data:
  LOG_LEVEL: info
  FEATURE_FLAGS: "a,b,c"
`);
        break;
      case 3:
        docs.push(`apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: team-${i % 17}}
spec:
  containers:
    - name: main
      image: busybox${i % 2 ? ":latest" : ""}
      command: [sleep, "3600"]
`);
        break;
      default:
        docs.push(`apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: ${name}}
rules:
  - apiGroups: [""]
    resources: [pods, services]
    verbs: [get, list, watch${i % 10 === 4 ? ', "*"' : ""}]
`);
    }
  }
  writeFileSync(file, docs.join("---\n"));
}

/** @returns {CheckFigure | undefined} */
function checkFigure() {
  if (!checkAvailable()) return undefined;
  const file = join(WORK, "check-10k.yaml");
  checkCorpus(file);
  /** @param {string} output median wall seconds of `tollgate check --output OUTPUT` on the corpus */
  const seconds = (output) => {
    const [cmd, argv] = onCore(0, process.execPath, [
      join(ROOT, "dist/src/main.js"),
      "check",
      "--output",
      output,
      file,
    ]);
    /** @type {number[]} */
    const times = [];
    for (let i = 0; i < (quick ? 1 : 3); i++) {
      const started = process.hrtime.bigint();
      try {
        execFileSync(cmd, argv, { stdio: "ignore", timeout: 300_000 });
      } catch (error) {
        // Exit 1 means deny findings, which the corpus has on purpose; anything else is a failure.
        const { status, signal } = /** @type {{ status?: number | null; signal?: string | null }} */ (error);
        if (status !== 1) throw new Error(`tollgate check failed (${status ?? signal})`, { cause: error });
      }
      times.push(Number(process.hrtime.bigint() - started) / 1e9);
    }
    return median(times);
  };
  const json = seconds("json");
  return { documents: 10_000, seconds: json, docsPerSecond: 10_000 / json, sarifSeconds: seconds("sarif") };
}

/**
 * A second tollgate of the same build with the ten policies of scripts/bench/vaps/ loaded
 * (`policies:` in a config), on core 0 like the first, and rounds of both on the Pod body, in turn.
 * @param {Server | undefined} builtIn the tollgate of the main rounds (the built-in rules alone)
 * @param {string} certs
 * @param {Buffer} ca
 * @param {string} podFile
 * @returns {Promise<VapFigure>}
 */
async function vapFigure(builtIn, certs, ca, podFile) {
  if (builtIn?.pid === undefined) throw new Error("bench: no tollgate to compare the policies with");
  const folder = join(ROOT, "scripts/bench/vaps");
  const policies = readdirSync(folder).filter((f) => f.endsWith(".yaml")).length;
  const config = join(WORK, "vaps-config.yaml");
  writeFileSync(config, `policies:\n  - ${JSON.stringify(folder)}\n`);
  const [port, metricsPort] = [await freePort(), await freePort()];
  const logFile = join(WORK, "tollgate-vaps.stderr.log");
  writeFileSync(logFile, "");
  const child = startTollgate("tollgate-vaps", port, metricsPort, logFile, [
    "--tls-cert",
    join(certs, "tls.crt"),
    "--tls-key",
    join(certs, "tls.key"),
    "--config",
    config,
  ]);
  const url = `https://${HOST}:${port}/validate`;
  await waitHealthy(`https://${HOST}:${port}/healthz`, ca, child);
  const body = readFileSync(podFile, "utf8");
  const uid = /** @type {{ request: { uid: string } }} */ (JSON.parse(body)).request.uid;
  const answer = await post(url, body, ca);
  const response =
    answer.status === 200
      ? /** @type {{ response?: { uid?: unknown; allowed?: boolean; status?: { message?: string } } }} */ (
          JSON.parse(answer.text)
        ).response
      : undefined;
  if (response?.uid !== uid)
    throw new Error(`tollgate-vaps answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  // The policies that deny this Pod name themselves in the denial's lines (`- <policy>: …`).
  const denying = [...(response.status?.message ?? "").matchAll(/^- ([a-z0-9-]+): /gm)].map((m) => m[1]);
  const verdict = response.allowed ? "allowed" : `denied by ${denying.join(", ")}`;
  writeFileSync(join(WORK, "answers", "tollgate-vaps-pod-create.json"), `${answer.text}\n`);
  const pid = /** @type {number} */ (child.pid);
  await wrk(url, podFile, 2, connections);
  /** @type {{ builtIn: number; with: number }[]} */
  const perRound = [];
  for (let round = 0; round < rounds; round++) {
    /** @type {Record<string, number>} */
    const cpu = {};
    const order = round % 2 === 0 ? ["builtIn", "with"] : ["with", "builtIn"];
    for (const which of order) {
      const target = which === "with" ? { url, pid } : { url: builtIn.url, pid: builtIn.pid };
      const before = cpuOf(target.pid);
      const r = await wrk(target.url, podFile, seconds, connections);
      cpu[which] = ((cpuOf(target.pid) - before) * 1e6) / r.requests;
      log(
        `vaps round ${round + 1} ${which === "with" ? "with the policies" : "built-in alone"}: ${f0(cpu[which] ?? 0)} CPU µs/req`,
      );
    }
    perRound.push({ builtIn: cpu.builtIn ?? Number.NaN, with: cpu.with ?? Number.NaN });
  }
  child.kill("SIGTERM");
  const builtInCpuUs = median(perRound.map((r) => r.builtIn));
  const withCpuUs = median(perRound.map((r) => r.with));
  return {
    policies,
    verdict,
    builtInCpuUs,
    withCpuUs,
    // Per round, then the median, as for the ratios: the two runs of a round are seconds apart.
    addedPercent: median(perRound.map((r) => (r.with / r.builtIn - 1) * 100)),
    rounds: perRound,
  };
}

// ---------------------------------------------------------------- report

/**
 * `record[key]`, which the run set before it reads it.
 * @template T
 * @param {Record<string, T>} record
 * @param {string} key
 * @returns {T}
 */
function entry(record, key) {
  const found = record[key];
  if (found === undefined) throw new Error(`bench: nothing measured for ${key}`);
  return found;
}

/**
 * The row of server `name`.
 * @template {{ name: string }} R
 * @param {R[]} rows
 * @param {string} name
 * @returns {R}
 */
function rowOf(rows, name) {
  const found = rows.find((row) => row.name === name);
  if (found === undefined) throw new Error(`bench: no figures for ${name}`);
  return found;
}

/** @param {number} n */
const f0 = (n) => Math.round(n).toLocaleString("en-US");
/** @param {number} n */
const f2 = (n) => n.toFixed(2);

/**
 * The run as markdown: the tables BENCHMARKS.md shows.
 * @param {Result} result
 */
function report(result) {
  const m = result.machine;
  /** @type {string[]} */
  const lines = [];
  lines.push(
    `Run of ${m.date}: tollgate ${m.tollgate}, Node ${m.node}, fastify ${m.fastify}, pino ${m.pino}, ${m.wrk}`,
  );
  lines.push(
    `Machine: ${m.cpu}, ${m.memory}, Linux ${m.kernel}, load average at start ${m.load}; ${m.pinned ? "servers pinned to core 0, wrk to core 1 (taskset)" : "not pinned (no taskset or one core)"}.`,
  );
  lines.push(
    `Load: wrk, 1 thread, ${result.connections} keep-alive HTTPS connections, ${result.rounds} interleaved rounds of ${result.seconds} s per server and body; medians over rounds. RSS read from /proc after each body's last run.`,
  );
  if (result.peer) {
    lines.push(
      `Peer: ${result.peer.name}${result.peer.version ? `, ${result.peer.version}` : ""}, at ${result.peer.url}, driven with the same bodies, rounds and connections.`,
    );
  }
  lines.push("");
  lines.push(
    "| body | bytes | server | req/s | p50 ms | p99 ms | CPU µs/req | RSS MB | tollgate / bare req/s | bare / tollgate CPU µs/req |",
  );
  lines.push("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|");
  for (const b of result.bodies) {
    for (const s of b.servers) {
      const ratio = s.name === "tollgate" ? f2(b.ratio) : "";
      const cpuRatio = s.name === "tollgate" ? f2(b.cpuRatio) : "";
      lines.push(
        `| ${b.body} | ${b.bytes} | ${s.name} | ${f0(s.rps)} | ${f2(s.p50)} | ${f2(s.p99)} | ${Number.isNaN(s.cpuUs) ? "" : f0(s.cpuUs)} | ${Number.isNaN(s.rssMb) ? "" : s.rssMb.toFixed(0)} | ${ratio} | ${cpuRatio} |`,
      );
    }
  }
  if (result.peer) {
    const peerName = result.peer.name;
    lines.push("");
    lines.push(
      `tollgate against ${peerName} (full rate; the req/s ratio is the median of the per-round ratios):`,
    );
    lines.push("");
    lines.push(
      `| body | tollgate verdict | ${peerName} verdict | tollgate / ${peerName} req/s | p99 ms tollgate | p99 ms ${peerName} | CPU µs/req tollgate | CPU µs/req ${peerName} |`,
    );
    lines.push("|---|---|---|---:|---:|---:|---:|---:|");
    for (const b of result.bodies) {
      const t = rowOf(b.servers, "tollgate");
      const p = rowOf(b.servers, peerName);
      const cpu = (/** @type {Row} */ s) => (Number.isNaN(s.cpuUs) ? "" : f0(s.cpuUs));
      lines.push(
        `| ${b.body} | ${b.verdict} | ${b.verdicts[peerName]} | ${f2(b.peerRatio ?? Number.NaN)} | ${f2(t.p99)} | ${f2(p.p99)} | ${cpu(t)} | ${cpu(p)} |`,
      );
    }
  }
  if (result.paced.length > 0) {
    lines.push("");
    lines.push(
      `Paced runs at half of tollgate's own maximum rate on that body (wrk with a per-connection delay), ${result.rounds} interleaved rounds of ${result.seconds} s; medians over rounds, and each round's p99:`,
    );
    lines.push("");
    lines.push(
      "| body | target req/s | server | achieved req/s | p50 ms | p99 ms | p99 per round | full GCs | scavenges | GC ms |",
    );
    lines.push("|---|---:|---|---:|---:|---:|---|---:|---:|---:|");
    for (const p of result.paced) {
      for (const s of p.servers) {
        const gc = s.gc ? `${s.gc.major} | ${s.gc.minor} | ${f0(s.gc.ms)}` : " | | ";
        lines.push(
          `| ${p.body} | ${f0(p.target)} | ${s.name} | ${f0(s.rps)} | ${f2(s.p50)} | ${f2(s.p99)} | ${s.p99s.map(f2).join(", ")} | ${gc} |`,
        );
      }
    }
    lines.push("");
    lines.push(
      `GC figures are tollgate's own, medians per ${result.seconds} s run (prom-client's \`nodejs_gc_duration_seconds\` from its /metrics, read before and after each paced run); the bare server has no metrics endpoint.`,
    );
  }
  lines.push("");
  lines.push(
    `Peak RSS (VmHWM) over the run: ${result.peak.map((p) => `${p.name} ${p.peakMb.toFixed(0)} MB`).join(", ")}. tollgate wrote ${f0(result.logLines)} log lines (info level, one per decision, to a pipe this script drains) during the measured runs, which made ${f0(result.tollgateRequests)} requests at full rate plus the paced runs.`,
  );
  lines.push("");
  lines.push(
    `Engine, in-process, one core, ${result.engine.rules} rules in the catalog (reviews per second):`,
  );
  lines.push("");
  lines.push("| body | findings | evaluate() | parse + validate + evaluate + serialise |");
  lines.push("|---|---:|---:|---:|");
  for (const e of result.engine.results) {
    lines.push(`| ${e.body} | ${e.findings} | ${f0(e.engine)} | ${f0(e.pipeline)} |`);
  }
  lines.push("");
  lines.push(
    result.check
      ? `CLI: tollgate check on ${f0(result.check.documents)} documents: ${f2(result.check.seconds)} s, ${f0(result.check.docsPerSecond)} documents/s with --output json, ${f2(result.check.sarifSeconds)} s with --output sarif (process start included).`
      : "check: not available in this build",
  );
  if (result.vaps) {
    const v = result.vaps;
    lines.push("");
    lines.push(
      `ValidatingAdmissionPolicies: with the ${v.policies} policies of scripts/bench/vaps/ loaded, tollgate used ${f0(v.withCpuUs)} CPU µs per Pod request against ${f0(v.builtInCpuUs)} without (+${f0(v.addedPercent)} %, the median of the rounds' ${v.rounds.map((r) => `${f0(r.with)}/${f0(r.builtIn)}`).join(", ")}); its answer: ${v.verdict}.`,
    );
  }
  return lines.join("\n");
}

// ---------------------------------------------------------------- main

async function main() {
  if (!existsSync(join(ROOT, "dist/src/main.js")))
    throw new Error("dist/src/main.js is missing: npm run build");
  ensureWrk();
  mkdirSync(join(WORK, "bodies"), { recursive: true });
  mkdirSync(join(WORK, "answers"), { recursive: true });
  const info = machine();
  log(`${info.cpu}, load ${info.load}, ${pinned ? "pinned" : "not pinned"}`);

  /** @type {Record<string, { file: string; bytes: number }>} */
  const bodyFiles = {};
  for (const body of BODIES) {
    const compact = JSON.stringify(JSON.parse(readFileSync(join(FIXTURES, `${body}.json`), "utf8")));
    const file = join(WORK, "bodies", `${body}.json`);
    bodyFiles[body] = { file, bytes: Buffer.byteLength(compact) };
    writeFileSync(file, compact);
  }
  const fileOf = (/** @type {string} */ body) => entry(bodyFiles, body).file;

  const certs = join(WORK, "certs");
  const tollgateLog = join(WORK, "tollgate.stderr.log");
  writeFileSync(tollgateLog, "");
  // This script drains the servers' stdout and runs nothing heavy: keep it off the servers' core.
  if (pinned) execFileSync("taskset", ["-a", "-p", "-c", "1", String(process.pid)], { stdio: "ignore" });
  const [port, metricsPort, barePort] = [await freePort(), await freePort(), await freePort()];
  const tollgate = startTollgate("tollgate", port, metricsPort, tollgateLog, ["--certs-dir", certs]);
  const caWait = Date.now() + 20_000;
  while (!existsSync(join(certs, "ca.crt")) && Date.now() < caWait)
    await new Promise((w) => setTimeout(w, 100));
  const ca = readFileSync(join(certs, "ca.crt"));
  await waitHealthy(`https://${HOST}:${port}/healthz`, ca, tollgate);
  const bareLog = join(WORK, "bare.log");
  writeFileSync(bareLog, "");
  const bare = start(
    "bare",
    process.execPath,
    ["scripts/bench/bare-server.mjs", String(barePort), HOST, join(certs, "tls.crt"), join(certs, "tls.key")],
    bareLog,
  );
  await waitHealthy(`https://${HOST}:${barePort}/healthz`, ca, bare);

  /** @type {Server[]} */
  const servers = [
    {
      name: "tollgate",
      url: `https://${HOST}:${port}/validate`,
      pid: tollgate.pid,
      metrics: `http://${HOST}:${metricsPort}/metrics`,
    },
    { name: "bare", url: `https://${HOST}:${barePort}/validate`, pid: bare.pid },
  ];
  if (peerUrl) {
    const pid = flags["peer-pid"] === undefined ? undefined : Number(flags["peer-pid"]);
    if (pid !== undefined && !existsSync(`/proc/${pid}/stat`))
      throw new Error(`--peer-pid ${pid}: no such process`);
    servers.push({ name: flags["peer-name"], url: peerUrl, pid });
  }

  // Every server must answer every body with a 200 AdmissionReview for the same uid.
  /** @type {Record<string, Record<string, string>>} */
  const verdicts = {};
  for (const body of bodies) {
    const text = readFileSync(fileOf(body), "utf8");
    const uid = /** @type {{ request: { uid: string } }} */ (JSON.parse(text)).request.uid;
    const verdict = (verdicts[body] ??= {});
    for (const server of servers) {
      const answer = await post(server.url, text, ca);
      const r =
        answer.status === 200
          ? /** @type {{ response?: { uid?: unknown; allowed?: boolean; warnings?: string[] } }} */ (
              JSON.parse(answer.text)
            ).response
          : undefined;
      if (r?.uid !== uid) {
        throw new Error(
          `${server.name} answered ${body} with ${answer.status}: ${answer.text.slice(0, 300)}`,
        );
      }
      verdict[server.name] =
        `${r.allowed ? "allowed" : "denied"}${r.warnings ? `, ${r.warnings.length} warning(s)` : ""}`;
      // The answers, to compare what each server concluded (the peer's rules are not tollgate's).
      writeFileSync(join(WORK, "answers", `${server.name}-${body}.json`), `${answer.text}\n`);
    }
  }

  log("warming up");
  for (const body of bodies)
    for (const server of servers) await wrk(server.url, fileOf(body), quick ? 1 : 2, connections);
  const linesBefore = tollgate.lines;

  /** @type {Record<string, Run[]>} */
  const runs = {};
  let tollgateRequests = 0;
  for (let round = 0; round < rounds; round++) {
    for (const body of bodies) {
      const order = round % 2 === 0 ? servers : [...servers].reverse();
      for (const server of order) {
        const cpuBefore = server.pid ? cpuOf(server.pid) : 0;
        const r = await wrk(server.url, fileOf(body), seconds, connections);
        if (server.pid) {
          Object.assign(r, memoryOf(server.pid));
          r.cpuUs = ((cpuOf(server.pid) - cpuBefore) * 1e6) / r.requests;
        }
        if (server.name === "tollgate") tollgateRequests += r.requests;
        (runs[`${body}/${server.name}`] ??= []).push(r);
        log(
          `round ${round + 1} ${body} ${server.name}: ${f0(r.rps)} req/s, p99 ${f2(r.p99)} ms, ${f0(r.cpuUs ?? Number.NaN)} CPU µs/req${r.errors ? `, ${r.errors} errors` : ""}`,
        );
      }
    }
  }

  /** @param {string} body @param {string} server */
  const runsOf = (body, server) => entry(runs, `${body}/${server}`);
  const bodyResults = bodies.map((body) => {
    const rows = servers.map((server) => {
      const rs = runsOf(body, server.name);
      return {
        name: server.name,
        ...latencyMedians(rs),
        rssMb: rs.at(-1)?.rssMb ?? Number.NaN,
        cpuUs: median(rs.map((r) => r.cpuUs ?? Number.NaN)),
        errors: rs.reduce((a, r) => a + r.errors, 0),
      };
    });
    // Ratio per round, then the median: each round's two runs are minutes apart at most.
    // Every server ran once per round, so the runs of one round have the same index.
    const tollgateRuns = runsOf(body, "tollgate");
    const bareRuns = runsOf(body, "bare");
    /** @param {Run[]} rs @param {number} i */
    const rpsAt = (rs, i) => {
      const run = rs[i];
      if (run === undefined) throw new Error(`bench: ${body} has no run in round ${i + 1}`);
      return run.rps;
    };
    const perRound = tollgateRuns.map((r, i) => r.rps / rpsAt(bareRuns, i));
    const peerRuns = peerUrl ? runsOf(body, flags["peer-name"]) : undefined;
    const perRoundPeer = peerRuns?.map((r, i) => rpsAt(tollgateRuns, i) / r.rps);
    const verdict = entry(verdicts, body);
    return {
      body,
      bytes: entry(bodyFiles, body).bytes,
      verdict: entry(verdict, "tollgate"),
      verdicts: verdict,
      servers: rows,
      ratio: median(perRound),
      ratios: perRound,
      peerRatio: perRoundPeer ? median(perRoundPeer) : undefined,
      peerRatios: perRoundPeer,
      // The same comparison from CPU time: the throughput ratio if both were CPU-bound.
      cpuRatio: rowOf(rows, "bare").cpuUs / rowOf(rows, "tollgate").cpuUs,
    };
  });

  // Paced runs, in rounds like the full-rate ones: one 10 s run's p99 on this shared machine
  // moves from 2 to 13 ms with the neighbours, for the bare server as for tollgate.
  /** @type {Paced[]} */
  const paced = [];
  if (!quick) {
    for (const b of bodyResults) {
      const target = rowOf(b.servers, "tollgate").rps / 2;
      // Connections that each wait 20 ms on average keep the integer-millisecond delay close to the pace.
      const conns = Math.max(8, Math.ceil((target * 20) / 1000));
      const delayMs = Math.round((conns * 1000) / target);
      /** @type {Record<string, (Run & { gc: GcDelta | undefined })[]>} */
      const byServer = Object.fromEntries(servers.map((server) => [server.name, []]));
      for (let round = 0; round < rounds; round++) {
        const order = round % 2 === 0 ? servers : [...servers].reverse();
        for (const server of order) {
          const gcBefore = server.metrics ? await gcOf(server.metrics) : undefined;
          const r = await wrk(server.url, fileOf(b.body), seconds, conns, delayMs);
          const gc = server.metrics && gcBefore ? gcDelta(await gcOf(server.metrics), gcBefore) : undefined;
          entry(byServer, server.name).push({ ...r, gc });
          log(
            `paced round ${round + 1} ${b.body} ${server.name}: ${f0(r.rps)} req/s, p99 ${f2(r.p99)} ms${gc ? `, ${gc.major} full GCs, ${gc.minor} scavenges, ${f0(gc.ms)} ms in GC` : ""}`,
          );
        }
      }
      const rows = servers.map((server) => {
        const rs = entry(byServer, server.name);
        const gcs = rs.flatMap((r) => (r.gc ? [r.gc] : []));
        return {
          name: server.name,
          ...latencyMedians(rs),
          p99s: rs.map((r) => r.p99),
          gc:
            gcs.length > 0
              ? {
                  major: median(gcs.map((gc) => gc.major)),
                  minor: median(gcs.map((gc) => gc.minor)),
                  ms: median(gcs.map((gc) => gc.ms)),
                }
              : undefined,
        };
      });
      paced.push({ body: b.body, target, connections: conns, delayMs, servers: rows });
    }
  }
  // Paced runs included: wrk's count of the measured runs is compared with lines after them.
  const logLines = tollgate.lines - linesBefore;
  const peak = servers.flatMap((s) => (s.pid ? [{ name: s.name, ...memoryOf(s.pid) }] : []));

  const vaps = quick ? undefined : await vapFigure(servers[0], certs, ca, fileOf("pod-create"));

  stopping = true;
  tollgate.kill("SIGTERM");
  bare.kill("SIGTERM");
  await new Promise((w) => setTimeout(w, 500));
  stopAll();

  log("engine micro-benchmark");
  const engine = engineFigures();
  log("tollgate check");
  const check = checkFigure();

  /** @type {Result} */
  const result = {
    machine: info,
    quick,
    rounds,
    seconds,
    connections,
    peer: peerUrl ? { name: flags["peer-name"], version: flags["peer-version"], url: peerUrl } : undefined,
    bodies: bodyResults,
    paced,
    peak,
    logLines,
    tollgateRequests,
    engine,
    check,
    vaps,
  };
  writeFileSync(join(WORK, "results.json"), `${JSON.stringify(result, null, 2)}\n`);
  const table = report(result);
  writeFileSync(join(WORK, "results.md"), `${table}\n`);
  process.stdout.write(`${table}\n`);

  if (flags["update-doc"]) {
    const doc = join(ROOT, "BENCHMARKS.md");
    const text = readFileSync(doc, "utf8");
    const [start, end] = docMarkers;
    const from = text.indexOf(start);
    const to = text.indexOf(end);
    if (from === -1 || to === -1) throw new Error(`BENCHMARKS.md has no ${start} ... ${end} markers`);
    writeFileSync(doc, `${text.slice(0, from + start.length)}\n${table}\n${text.slice(to)}`);
    // The project's formatter owns markdown too: align the new tables as it would.
    execFileSync(join(ROOT, "node_modules/.bin/prettier"), ["--write", doc], { stdio: "ignore" });
    log("BENCHMARKS.md updated");
  }

  const pod = bodyResults.find((b) => b.body === "pod-create");
  if (quick && pod) {
    // A regression lowers every round; a neighbour's burst on this shared machine lowers some.
    // So the gate is the best round's ratio, and a round where either server was starved (no
    // requests at all) does not count.
    const valid = pod.ratios.filter((r) => Number.isFinite(r) && r > 0);
    const best = valid.length > 0 ? Math.max(...valid) : 0;
    if (best < QUICK_FLOOR) {
      process.stderr.write(
        `bench: FAIL tollgate / bare on the Pod body is ${f2(best)} at best (rounds: ${pod.ratios.map(f2).join(", ")}), below the floor ${QUICK_FLOOR}\n`,
      );
      return 1;
    }
    log(
      `ok: tollgate / bare on the Pod body ${f2(best)} at best (rounds: ${pod.ratios.map(f2).join(", ")}) >= floor ${QUICK_FLOOR}`,
    );
  }
  return 0;
}

main().then(
  (code) => {
    clearTimeout(deadline);
    process.exitCode = code;
  },
  (error) => {
    stopping = true;
    stopAll();
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  },
);
