/**
 * A real Kubernetes test control plane for tollgate's end-to-end tests: etcd and kube-apiserver run
 * as local processes, the way controller-runtime's envtest runs them, built from pinned Go modules by
 * scripts/controlplane.sh (cached after the first build).
 *
 * What it sets up:
 * - etcd on a free 127.0.0.1 port with a temporary data dir;
 * - kube-apiserver on a free 127.0.0.1 port with a generated serving certificate (127.0.0.1, ::1,
 *   localhost), a client CA, service-account signing keys, `--authorization-mode=Node,RBAC` and the
 *   default admission plugins;
 * - an admin kubeconfig (client certificate in `system:masters`) and one for an ordinary user,
 *   `alice` (no groups beyond `system:authenticated`), bound to the `edit` ClusterRole.
 *
 * There is no kube-controller-manager, so the harness does the two things of its that tests rely on:
 * it fills in the aggregated ClusterRoles (`admin`, `edit`, `view`) once at start-up, and
 * `createNamespace()` also creates the namespace's `default` ServiceAccount (the ServiceAccount
 * admission plugin rejects Pods without it). Namespaces are never finalised after deletion, so tests
 * should use fresh names.
 *
 * Every process is stopped by PID in `stop()`, by a process 'exit' handler, and by a small watchdog
 * that outlives this process if it is killed outright.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { request as httpsRequest } from "node:https";
import { createServer, type Server } from "node:net";
import { constants, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { generate } from "selfsigned";

/** The ordinary user whose kubeconfig is `userKubeconfig`. */
export const USER_NAME = "alice";
/** The ClusterRoleBinding that grants `USER_NAME` the `edit` ClusterRole. */
export const USER_BINDING_NAME = "tollgate-e2e-alice-edit";

export interface KubectlOptions {
  /** Run as the ordinary user (`alice`) instead of the admin. */
  user?: boolean;
  /** Written to kubectl's standard input (for `-f -`). */
  input?: string;
  /** Killed after this long; default 60 s. */
  timeoutMs?: number;
}

export interface KubectlResult {
  /** Exit code; 128 + signal number when killed by a signal. */
  code: number;
  stdout: string;
  stderr: string;
}

export interface RequestOptions {
  /** Authenticate as the ordinary user (`alice`) instead of the admin. */
  user?: boolean;
  /** Sent as JSON. */
  body?: unknown;
  /** Content-Type of the body; default `application/json`. */
  contentType?: string;
}

export interface ApiResponse {
  status: number;
  body: string;
  /** The texts of the response's `Warning` headers (admission warnings among them). */
  warnings: string[];
}

export interface ControlPlane {
  /** `https://127.0.0.1:<port>` */
  readonly apiserverUrl: string;
  /** `http://127.0.0.1:<port>` */
  readonly etcdUrl: string;
  /** Path of a kubeconfig whose user is in `system:masters`. */
  readonly adminKubeconfig: string;
  /** Path of a kubeconfig for `alice`, bound to the `edit` ClusterRole cluster-wide. */
  readonly userKubeconfig: string;
  /** Name of the ordinary user (`alice`). */
  readonly userName: string;
  /** Directory holding `kube-apiserver`, `kubectl` and `etcd`. */
  readonly binDir: string;
  /** Temporary directory with certificates, kubeconfigs, logs and etcd's data; removed by `stop()`. */
  readonly dir: string;
  /** PEM of the CA that signed the apiserver's serving certificate. */
  readonly caCertPem: string;
  /** The apiserver's `gitVersion`, e.g. `v1.37.2`. */
  readonly kubernetesVersion: string;
  /** Log files of the processes. */
  readonly logs: { readonly etcd: string; readonly apiserver: string };
  /** Runs the built kubectl (never one on PATH) as the admin, or as `alice` with `{ user: true }`. */
  kubectl(args: readonly string[], opts?: KubectlOptions): Promise<KubectlResult>;
  /** One HTTPS request to the apiserver as the admin, or as `alice` with `{ user: true }`. */
  request(method: string, path: string, opts?: RequestOptions): Promise<ApiResponse>;
  /** Creates a Namespace (as admin) and its `default` ServiceAccount, which no controller creates here. */
  createNamespace(name: string, labels?: Readonly<Record<string, string>>): Promise<void>;
  /** Stops every process by PID (SIGTERM, then SIGKILL) and removes `dir`. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Appended to kube-apiserver's command line (later flags win). */
  extraApiserverArgs?: readonly string[];
  /** How long etcd plus kube-apiserver may take to become ready; default 120 s. */
  readyTimeoutMs?: number;
}

/** The repository root: the nearest folder above this module with a package.json (also from dist-e2e/). */
export const REPO_ROOT = findRepoRoot(dirname(fileURLToPath(import.meta.url)));
const BUILD_SCRIPT = join(REPO_ROOT, "scripts", "controlplane.sh");
const BINARIES = ["kube-apiserver", "kubectl", "etcd"] as const;
const STOP_TIMEOUT_MS = 10_000;
const HOUR = 60 * 60 * 1000;

function findRepoRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

let binariesPromise: Promise<string> | undefined;

/**
 * Directory with the control-plane binaries: `$TOLLGATE_CONTROLPLANE_BIN_DIR` when set, otherwise the
 * cache directory printed by scripts/controlplane.sh (which builds on the first run, 7-11 min on 2 cores).
 */
export function ensureControlPlaneBinaries(): Promise<string> {
  binariesPromise ??= resolveBinaries().catch((err: unknown) => {
    binariesPromise = undefined; // let a later call try again
    throw err;
  });
  return binariesPromise;
}

async function resolveBinaries(): Promise<string> {
  const fromEnv = process.env.TOLLGATE_CONTROLPLANE_BIN_DIR;
  const dir = fromEnv ? fromEnv : await runBuildScript();
  const missing = BINARIES.filter((b) => !existsSync(join(dir, b)));
  if (missing.length > 0) {
    throw new Error(`control-plane binaries missing in ${dir}: ${missing.join(", ")}`);
  }
  return dir;
}

function runBuildScript(): Promise<string> {
  return new Promise((resolve, reject) => {
    // Progress (stderr) goes straight to ours, so a cold build shows what it is doing.
    const child = spawn("bash", [BUILD_SCRIPT], {
      cwd: REPO_ROOT,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let stdout = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      const lines = stdout.split("\n").filter((l) => l.trim() !== "");
      const last = lines.at(-1)?.trim();
      if (code !== 0 || !last) {
        reject(new Error(`${BUILD_SCRIPT} failed (code ${code}, signal ${signal})`));
      } else {
        resolve(last);
      }
    });
  });
}

// ---------------------------------------------------------------------------------------------------
// Process bookkeeping: everything started is killed on stop(), on 'exit', and by the watchdog.

interface Running {
  children: Set<ChildProcess>;
  dir: string;
}

const active = new Set<Running>();
let exitHandlerInstalled = false;

function installExitHandler(): void {
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  process.on("exit", () => {
    for (const running of active) {
      for (const child of running.children) killQuietly(child.pid, "SIGKILL");
      rmSync(running.dir, { recursive: true, force: true });
    }
    active.clear();
  });
}

function killQuietly(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

function isRunning(child: ChildProcess): boolean {
  // No pid: the spawn itself failed.
  return child.pid !== undefined && child.exitCode === null && child.signalCode === null;
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (!isRunning(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off("exit", onExit);
      resolve(false);
    }, timeoutMs);
    const onExit = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once("exit", onExit);
  });
}

async function terminate(child: ChildProcess): Promise<void> {
  if (!isRunning(child)) return;
  killQuietly(child.pid, "SIGTERM");
  if (await waitForExit(child, STOP_TIMEOUT_MS)) return;
  killQuietly(child.pid, "SIGKILL");
  await waitForExit(child, STOP_TIMEOUT_MS);
}

/**
 * A detached shell that, once this Node process is gone, kills the PIDs listed in `<dir>/pids` and
 * removes `dir`: for the case where Node dies without running 'exit' handlers (SIGKILL, fatal signal).
 */
function startWatchdog(dir: string): ChildProcess {
  const script = [
    'parent="$1"; dir="$2"',
    'while kill -0 "$parent" 2>/dev/null; do sleep 1; done',
    'pids="$(cat "$dir/pids" 2>/dev/null)"',
    'if [ -n "$pids" ]; then kill -TERM $pids 2>/dev/null; sleep 5; kill -KILL $pids 2>/dev/null; fi',
    'rm -rf "$dir"',
  ].join("\n");
  const watchdog = spawn("bash", ["-c", script, "tollgate-e2e-watchdog", String(process.pid), dir], {
    detached: true,
    stdio: "ignore",
  });
  watchdog.on("error", () => {
    // best effort: stop() and the 'exit' handler still clean up
  });
  watchdog.unref();
  return watchdog;
}

// ---------------------------------------------------------------------------------------------------
// Certificates and keys.

interface Pem {
  cert: string;
  key: string;
}

const EC = { keyType: "ec", curve: "P-256", algorithm: "sha256" } as const;

function validity(): { notBeforeDate: Date; notAfterDate: Date } {
  const now = Date.now();
  return {
    notBeforeDate: new Date(now - HOUR),
    notAfterDate: new Date(now + 7 * 24 * HOUR),
  };
}

async function makeCa(commonName: string): Promise<Pem> {
  const r = await generate([{ name: "commonName", value: commonName }], {
    ...EC,
    ...validity(),
    extensions: [
      { name: "basicConstraints", cA: true, critical: true },
      {
        name: "keyUsage",
        keyCertSign: true,
        cRLSign: true,
        digitalSignature: true,
        critical: true,
      },
    ],
  });
  return { cert: r.cert, key: r.private };
}

async function makeServingCert(ca: Pem): Promise<Pem> {
  const r = await generate([{ name: "commonName", value: "kube-apiserver" }], {
    ...EC,
    ...validity(),
    ca,
    extensions: [
      { name: "basicConstraints", cA: false, critical: true },
      { name: "keyUsage", digitalSignature: true, critical: true },
      { name: "extKeyUsage", serverAuth: true },
      {
        name: "subjectAltName",
        altNames: [
          { type: 2, value: "localhost" },
          { type: 2, value: "kubernetes" },
          { type: 2, value: "kubernetes.default" },
          { type: 2, value: "kubernetes.default.svc" },
          { type: 7, ip: "127.0.0.1" },
          { type: 7, ip: "::1" },
          { type: 7, ip: "10.0.0.1" },
        ],
      },
    ],
  });
  return { cert: r.cert, key: r.private };
}

async function makeClientCert(ca: Pem, commonName: string, organizations: readonly string[]): Promise<Pem> {
  const r = await generate(
    [
      { name: "commonName", value: commonName },
      ...organizations.map((value) => ({ name: "organizationName", value })),
    ],
    {
      ...EC,
      ...validity(),
      ca,
      extensions: [
        { name: "basicConstraints", cA: false, critical: true },
        { name: "keyUsage", digitalSignature: true, critical: true },
        { name: "extKeyUsage", clientAuth: true },
      ],
    },
  );
  return { cert: r.cert, key: r.private };
}

function kubeconfig(server: string, caPem: string, user: string, client: Pem): string {
  const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");
  // JSON is YAML, and kubectl reads it as a kubeconfig.
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: "tollgate-e2e",
        cluster: { server, "certificate-authority-data": b64(caPem) },
      },
    ],
    users: [
      {
        name: user,
        user: {
          "client-certificate-data": b64(client.cert),
          "client-key-data": b64(client.key),
        },
      },
    ],
    contexts: [{ name: user, context: { cluster: "tollgate-e2e", user } }],
    "current-context": user,
    preferences: {},
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

// ---------------------------------------------------------------------------------------------------
// Networking helpers.

/** `count` distinct free TCP ports on 127.0.0.1 (free when asked; bind them soon). */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => resolve());
      });
      const address = server.address();
      if (address === null || typeof address === "string") throw new Error("no port from listen(0)");
      ports.push(address.port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

interface TlsClient {
  ca: string;
  cert: string;
  key: string;
}

/** The texts of `Warning: 299 - "text"` headers; Node joins repeated ones with ", ". */
function warningTexts(header: string | undefined): string[] {
  return [...(header ?? "").matchAll(/\d{3} [^ ]+ "((?:[^"\\]|\\.)*)"/g)].map((m) =>
    m[1]!.replace(/\\(.)/g, "$1"),
  );
}

function httpsCall(
  url: string,
  method: string,
  tls: TlsClient,
  body?: string,
  contentType = "application/json",
  timeoutMs = 30_000,
): Promise<ApiResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (body !== undefined) {
      headers["Content-Type"] = contentType;
      headers["Content-Length"] = String(Buffer.byteLength(body));
    }
    const req = httpsRequest(url, { method, headers, ...tls, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString("utf8"),
          warnings: warningTexts(res.headers.warning),
        }),
      );
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`${method} ${url} timed out after ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end(body);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls until `probe` holds. The apiserver matches webhooks and admission policies from informer
 * caches that follow a write by milliseconds to a second or more, and each object (a policy, each of
 * its bindings, a namespace's labels) arrives on its own: a test waits for what it asserts on next.
 */
export async function eventually(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`${what}: not seen within ${timeoutMs} ms`);
    await sleep(250);
  }
}

function tail(file: string, lines = 40): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

class StartupError extends Error {
  constructor(
    message: string,
    readonly portClash: boolean,
  ) {
    super(message);
    this.name = "StartupError";
  }
}

/** Polls `probe` until it returns true; fails early when `child` exits. */
async function waitUntil(
  what: string,
  child: ChildProcess,
  deadline: number,
  logFile: string,
  probe: () => Promise<boolean>,
): Promise<void> {
  let lastError = "";
  while (Date.now() < deadline) {
    if (!isRunning(child)) {
      const log = tail(logFile);
      throw new StartupError(
        `${what} exited (code ${child.exitCode}, signal ${child.signalCode}) before it was ready; ${logFile}:\n${log}`,
        /address already in use/.test(log),
      );
    }
    try {
      if (await probe()) return;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    await sleep(250);
  }
  throw new StartupError(
    `${what} not ready in time${lastError ? ` (last error: ${lastError})` : ""}; ${logFile}:\n${tail(logFile)}`,
    false,
  );
}

// ---------------------------------------------------------------------------------------------------
// RBAC: the aggregation kube-controller-manager would do.

interface LabelSelectorRequirement {
  key: string;
  operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
  values?: string[];
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

interface ClusterRole {
  metadata: { name: string; labels?: Record<string, string> };
  aggregationRule?: { clusterRoleSelectors?: LabelSelector[] };
  rules?: unknown[];
}

function selects(selector: LabelSelector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[k] !== v) return false;
  }
  for (const req of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, req.key);
    const value = labels[req.key];
    const values = req.values ?? [];
    const ok =
      req.operator === "In"
        ? has && value !== undefined && values.includes(value)
        : req.operator === "NotIn"
          ? !has || value === undefined || !values.includes(value)
          : req.operator === "Exists"
            ? has
            : !has;
    if (!ok) return false;
  }
  return true;
}

/** Unions the rules of the roles each aggregated ClusterRole selects, to a fixed point. */
export function aggregateClusterRoles(roles: readonly ClusterRole[]): Map<string, unknown[]> {
  const rules = new Map<string, unknown[]>(roles.map((r) => [r.metadata.name, r.rules ?? []]));
  const changed = new Map<string, unknown[]>();
  for (let round = 0; round < 10; round++) {
    let progress = false;
    for (const role of roles) {
      const selectors = role.aggregationRule?.clusterRoleSelectors;
      if (!selectors || selectors.length === 0) continue;
      const seen = new Set<string>();
      const union: unknown[] = [];
      for (const other of roles) {
        if (other.metadata.name === role.metadata.name) continue;
        if (!selectors.some((s) => selects(s, other.metadata.labels ?? {}))) continue;
        for (const rule of rules.get(other.metadata.name) ?? []) {
          const key = JSON.stringify(rule);
          if (!seen.has(key)) {
            seen.add(key);
            union.push(rule);
          }
        }
      }
      const before = rules.get(role.metadata.name) ?? [];
      if (JSON.stringify(before) !== JSON.stringify(union)) {
        rules.set(role.metadata.name, union);
        changed.set(role.metadata.name, union);
        progress = true;
      }
    }
    if (!progress) return changed;
  }
  throw new Error("ClusterRole aggregation did not converge");
}

// ---------------------------------------------------------------------------------------------------

/** Starts etcd and kube-apiserver; retried up to three times if a chosen port was taken meanwhile. */
export async function startControlPlane(options: StartOptions = {}): Promise<ControlPlane> {
  const binDir = await ensureControlPlaneBinaries();
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(binDir, options);
    } catch (err) {
      if (!(err instanceof StartupError && err.portClash && attempt < 3)) throw err;
    }
  }
}

async function startOnce(binDir: string, options: StartOptions): Promise<ControlPlane> {
  installExitHandler();
  const dir = mkdtempSync(join(tmpdir(), "tollgate-e2e-"));
  const running: Running = { children: new Set(), dir };
  active.add(running);
  const watchdog = startWatchdog(dir);

  const file = (name: string): string => join(dir, name);
  const logs = {
    etcd: file("etcd.log"),
    apiserver: file("kube-apiserver.log"),
  };

  const launch = (binary: string, args: readonly string[], logFile: string): ChildProcess => {
    const fd = openSync(logFile, "a");
    try {
      const env: NodeJS.ProcessEnv = {};
      // etcd reads ETCD_* variables as flags; keep the environment from changing the set-up.
      for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("ETCD_")) env[k] = v;
      const child = spawn(join(binDir, binary), args, {
        cwd: dir,
        env,
        stdio: ["ignore", fd, fd],
      });
      child.on("error", () => {
        // surfaces through the readiness wait (the process is not running)
      });
      running.children.add(child);
      if (child.pid !== undefined) appendFileSync(file("pids"), `${child.pid}\n`);
      return child;
    } finally {
      closeSync(fd);
    }
  };

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      killQuietly(watchdog.pid, "SIGKILL");
      // The apiserver first, so it does not spend its shutdown retrying a dead etcd.
      const order = [...running.children].reverse();
      for (const child of order) await terminate(child);
      active.delete(running);
      rmSync(dir, { recursive: true, force: true });
    })();
    return stopping;
  };

  try {
    // Certificates, keys, kubeconfigs.
    const servingCa = await makeCa("tollgate-e2e-serving-ca");
    const clientCa = await makeCa("tollgate-e2e-client-ca");
    const serving = await makeServingCert(servingCa);
    const admin = await makeClientCert(clientCa, "tollgate-e2e-admin", ["system:masters"]);
    const alice = await makeClientCert(clientCa, USER_NAME, []);
    const sa = generateKeyPairSync("rsa", {
      modulusLength: 2048,
      publicKeyEncoding: { type: "spki", format: "pem" },
      privateKeyEncoding: { type: "pkcs8", format: "pem" },
    });
    writeFileSync(file("serving-ca.crt"), servingCa.cert);
    writeFileSync(file("client-ca.crt"), clientCa.cert);
    writeFileSync(file("apiserver.crt"), serving.cert);
    writeFileSync(file("apiserver.key"), serving.key, { mode: 0o600 });
    writeFileSync(file("sa.pub"), sa.publicKey);
    writeFileSync(file("sa.key"), sa.privateKey, { mode: 0o600 });

    const [etcdPort, peerPort, apiPort] = (await freePorts(3)) as [number, number, number];
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const apiserverUrl = `https://127.0.0.1:${apiPort}`;
    const adminKubeconfig = file("admin.kubeconfig");
    const userKubeconfig = file(`${USER_NAME}.kubeconfig`);
    writeFileSync(adminKubeconfig, kubeconfig(apiserverUrl, servingCa.cert, "tollgate-e2e-admin", admin), {
      mode: 0o600,
    });
    writeFileSync(userKubeconfig, kubeconfig(apiserverUrl, servingCa.cert, USER_NAME, alice), {
      mode: 0o600,
    });

    const deadline = Date.now() + (options.readyTimeoutMs ?? 120_000);

    // etcd.
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const etcd = launch(
      "etcd",
      [
        "--name=tollgate-e2e",
        `--data-dir=${file("etcd-data")}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=tollgate-e2e=${peerUrl}`,
        "--unsafe-no-fsync=true",
      ],
      logs.etcd,
    );
    await waitUntil("etcd", etcd, deadline, logs.etcd, async () => {
      const res = await fetch(`${etcdUrl}/health`, {
        signal: AbortSignal.timeout(5_000),
      });
      const body = (await res.json()) as { health?: string };
      return res.ok && body.health === "true";
    });

    // kube-apiserver.
    const apiserver = launch(
      "kube-apiserver",
      [
        `--etcd-servers=${etcdUrl}`,
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        // The endpoint reconciler refuses a loopback advertise address; nothing here needs the
        // endpoints of the `kubernetes` Service.
        "--endpoint-reconciler-type=none",
        `--secure-port=${apiPort}`,
        `--tls-cert-file=${file("apiserver.crt")}`,
        `--tls-private-key-file=${file("apiserver.key")}`,
        `--client-ca-file=${file("client-ca.crt")}`,
        "--service-cluster-ip-range=10.0.0.0/24",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        `--service-account-key-file=${file("sa.pub")}`,
        `--service-account-signing-key-file=${file("sa.key")}`,
        "--authorization-mode=Node,RBAC",
        "--allow-privileged=true",
        "--profiling=false",
        ...(options.extraApiserverArgs ?? []),
      ],
      logs.apiserver,
    );
    const adminTls: TlsClient = {
      ca: servingCa.cert,
      cert: admin.cert,
      key: admin.key,
    };
    const userTls: TlsClient = {
      ca: servingCa.cert,
      cert: alice.cert,
      key: alice.key,
    };
    await waitUntil("kube-apiserver", apiserver, deadline, logs.apiserver, async () => {
      const res = await httpsCall(`${apiserverUrl}/readyz`, "GET", adminTls, undefined, undefined, 5_000);
      return res.status === 200;
    });

    const request = async (method: string, path: string, opts: RequestOptions = {}): Promise<ApiResponse> => {
      const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
      return httpsCall(
        `${apiserverUrl}${path}`,
        method,
        opts.user ? userTls : adminTls,
        body,
        opts.contentType,
      );
    };
    const must = async (method: string, path: string, body?: unknown): Promise<string> => {
      const res = await request(method, path, { body });
      if (res.status < 200 || res.status >= 300) {
        throw new Error(`${method} ${path}: HTTP ${res.status}: ${res.body}`);
      }
      return res.body;
    };

    const version = JSON.parse(await must("GET", "/version")) as {
      gitVersion: string;
    };

    // Aggregated ClusterRoles (admin, edit, view) are filled by kube-controller-manager, absent here.
    const rbac = "/apis/rbac.authorization.k8s.io/v1";
    const roles = (
      JSON.parse(await must("GET", `${rbac}/clusterroles`)) as {
        items: ClusterRole[];
      }
    ).items;
    for (const [name, rules] of aggregateClusterRoles(roles)) {
      const role = roles.find((r) => r.metadata.name === name);
      await must("PUT", `${rbac}/clusterroles/${name}`, { ...role, rules });
    }

    await must("POST", `${rbac}/clusterrolebindings`, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: USER_BINDING_NAME },
      roleRef: {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: "edit",
      },
      subjects: [
        {
          apiGroup: "rbac.authorization.k8s.io",
          kind: "User",
          name: USER_NAME,
        },
      ],
    });
    // The RBAC authorizer reads from an informer: wait until alice's binding is in effect.
    await waitUntil("the edit binding for alice", apiserver, deadline, logs.apiserver, async () => {
      const res = await request("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {
        user: true,
        body: {
          apiVersion: "authorization.k8s.io/v1",
          kind: "SelfSubjectAccessReview",
          spec: {
            resourceAttributes: {
              verb: "create",
              resource: "configmaps",
              namespace: "default",
            },
          },
        },
      });
      return (
        res.status === 201 &&
        (JSON.parse(res.body) as { status?: { allowed?: boolean } }).status?.allowed === true
      );
    });

    const kubectl = (args: readonly string[], opts: KubectlOptions = {}): Promise<KubectlResult> =>
      runKubectl(binDir, dir, opts.user ? userKubeconfig : adminKubeconfig, args, opts);

    const createNamespace = async (
      name: string,
      labels: Readonly<Record<string, string>> = {},
    ): Promise<void> => {
      await must("POST", "/api/v1/namespaces", {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name, labels },
      });
      await must("POST", `/api/v1/namespaces/${encodeURIComponent(name)}/serviceaccounts`, {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: "default", namespace: name },
      });
    };

    return {
      apiserverUrl,
      etcdUrl,
      adminKubeconfig,
      userKubeconfig,
      userName: USER_NAME,
      binDir,
      dir,
      caCertPem: servingCa.cert,
      kubernetesVersion: version.gitVersion,
      logs,
      kubectl,
      request,
      createNamespace,
      stop,
    };
  } catch (err) {
    // The error carries the logs' tails; the directory goes (etcd preallocates large WAL files).
    const apiserverLog = tail(logs.apiserver);
    await stop().catch(() => undefined);
    const message = err instanceof Error ? err.message : String(err);
    const detail = message.includes(logs.apiserver) ? "" : `\nkube-apiserver log (tail):\n${apiserverLog}`;
    const wrapped = new StartupError(
      `control plane failed to start: ${message}${detail}`,
      err instanceof StartupError && err.portClash,
    );
    throw wrapped;
  }
}

function runKubectl(
  binDir: string,
  dir: string,
  kubeconfigPath: string,
  args: readonly string[],
  opts: KubectlOptions,
): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(binDir, "kubectl"), args, {
      cwd: dir,
      env: {
        ...process.env,
        KUBECONFIG: kubeconfigPath,
        KUBECACHEDIR: join(dir, "kube-cache"),
        KUBERC: "off",
      },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (c: string) => {
      stdout += c;
    });
    child.stderr.on("data", (c: string) => {
      stderr += c;
    });
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${timeoutMs} ms)`;
      killQuietly(child.pid, "SIGKILL");
    }, timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? 128 + signalNumber(signal), stdout, stderr });
    });
    child.stdin.on("error", () => {
      // kubectl may exit before reading its input
    });
    child.stdin.end(opts.input ?? "");
  });
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal ? (constants.signals[signal] ?? 0) : 0;
}
