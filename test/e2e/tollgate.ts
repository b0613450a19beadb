/**
 * tollgate as the real CLI process for the end-to-end tests and the demo: `node dist/src/main.js serve
 * --bootstrap`, so the apiserver calls it over real TLS with the caBundle the bootstrapper published.
 *
 * `npm run build` must have run first (the e2e script and the demo do it). The process is stopped by
 * PID in `stop()` and by a process 'exit' handler; its PID is also appended to the control plane's
 * `pids` file, so the control plane's watchdog kills it if the test process dies outright.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { appendFileSync, closeSync, existsSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import { type ControlPlane, freePorts, REPO_ROOT } from "./controlplane.js";

/** The CLI entry point that `npm run build` writes. */
export const TOLLGATE_MAIN = join(REPO_ROOT, "dist", "src", "main.js");

/** The Secret's namespace and the webhook configuration's name in the default config. */
export const TOLLGATE_NAMESPACE = "tollgate";
export const WEBHOOK_CONFIGURATION = "tollgate";

export interface TollgateOptions {
  /** Config YAML written to `<cp.dir>/tollgate.yaml`; the defaults when absent. */
  config?: string;
  /** Listen on these ports (a restart reuses the previous ones); free ones when absent. */
  port?: number;
  metricsPort?: number;
  /** How long start-up may take until /readyz answers 200; default 60 s. */
  readyTimeoutMs?: number;
  /**
   * Listen on this address instead of 127.0.0.1, and register no `--webhook-url`: the apiserver then
   * calls the config's Service, at its ClusterIP (a loopback one, see test/e2e/helm.test.ts).
   */
  serviceAddress?: string;
  /** More `serve` flags, after the harness's own (`--webhook-check-interval 2`). */
  args?: readonly string[];
}

export interface Tollgate {
  readonly pid: number;
  readonly port: number;
  readonly metricsPort: number;
  /** `https://127.0.0.1:<port>`, the URL given to `--webhook-url`. */
  readonly url: string;
  /** tollgate's stdout and stderr (pino JSON lines). */
  readonly logFile: string;
  /** The text of `GET /metrics`. */
  metrics(): Promise<string>;
  /** The sum of `tollgate_decisions_total` over all label sets. */
  decisions(): Promise<number>;
  /** SIGTERM by PID and wait for the exit (SIGKILL after 10 s); resolves with the exit code. */
  stop(): Promise<number | null>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const running = new Set<ChildProcess>();
let exitHandlerInstalled = false;

function installExitHandler(): void {
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  process.on("exit", () => {
    for (const child of running) {
      try {
        if (child.pid !== undefined) process.kill(child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  });
}

/** GET over HTTPS without verifying the certificate: only to see whether the process is up. */
function probe(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { rejectUnauthorized: false, timeout: 2_000 }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on("error", reject);
    req.end();
  });
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/**
 * Waits until the apiserver calls tollgate: it reads a new webhook configuration through an
 * informer, so the first requests after the bootstrap may still pass unchecked. A server-side
 * dry-run of a Namespace shows tollgate's namespace-pss-label-missing warning once it is in force.
 */
export async function waitForWebhook(cp: ControlPlane, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await cp.kubectl(["create", "namespace", "tollgate-probe", "--dry-run=server"]);
    if (r.stderr.includes("Warning: namespace-pss-label-missing:")) return;
    if (Date.now() > deadline) {
      throw new Error(
        `the apiserver did not call tollgate within ${timeoutMs} ms (last: ${r.stderr.trim()})`,
      );
    }
    await sleep(250);
  }
}

/** The sum of every sample of `name` in a Prometheus text exposition. */
export function sumOfMetric(exposition: string, name: string): number {
  let sum = 0;
  for (const line of exposition.split("\n")) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) {
      sum += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return sum;
}

/**
 * Starts `tollgate serve --bootstrap` against `cp` as the admin and waits until /readyz answers 200,
 * which it does only once it has registered in the webhook configuration (caBundle and
 * failurePolicy). The `tollgate` namespace (for the certificate Secret) must exist.
 */
export async function startTollgate(cp: ControlPlane, options: TollgateOptions = {}): Promise<Tollgate> {
  if (!existsSync(TOLLGATE_MAIN)) {
    throw new Error(`${TOLLGATE_MAIN} is missing: run \`npm run build\` first`);
  }
  installExitHandler();
  const [freePort, freeMetricsPort] = (await freePorts(2)) as [number, number];
  const port = options.port ?? freePort;
  const metricsPort = options.metricsPort ?? freeMetricsPort;
  const host = options.serviceAddress ?? "127.0.0.1";
  const url = `https://${host}:${port}`;
  const configPath = join(cp.dir, "tollgate.yaml");
  writeFileSync(configPath, options.config ?? "{}\n");
  const logFile = join(cp.dir, "tollgate.log");
  const args = [
    TOLLGATE_MAIN,
    "serve",
    "--bootstrap",
    "--kubeconfig",
    cp.adminKubeconfig,
    ...(options.serviceAddress === undefined ? ["--webhook-url", url] : []),
    "--host",
    host,
    "--port",
    String(port),
    "--metrics-port",
    String(metricsPort),
    "--config",
    configPath,
    ...(options.args ?? []),
  ];
  const fd = openSync(logFile, "a");
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, args, { cwd: cp.dir, stdio: ["ignore", fd, fd] });
  } finally {
    closeSync(fd);
  }
  child.on("error", () => {
    // surfaces below: the process is not running
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`cannot start ${TOLLGATE_MAIN}`);
  running.add(child);
  appendFileSync(join(cp.dir, "pids"), `${pid}\n`);

  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => {
      running.delete(child);
      resolve(code);
    });
  });
  let stopping: Promise<number | null> | undefined;
  const stop = (): Promise<number | null> => {
    stopping ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      process.kill(pid, "SIGTERM");
      const timer = setTimeout(() => {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // gone meanwhile
        }
      }, 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    })();
    return stopping;
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  let lastError: string;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `tollgate exited (code ${child.exitCode}) before it was ready; ${logFile}:\n${tail(logFile)}`,
      );
    }
    try {
      const status = await probe(`${url}/readyz`);
      if (status === 200) break;
      lastError = `HTTP ${status}`;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`tollgate not ready in time (last: ${lastError}); ${logFile}:\n${tail(logFile)}`);
    }
    await sleep(200);
  }

  const metrics = async (): Promise<string> => {
    const res = await fetch(`http://${host}:${metricsPort}/metrics`, {
      signal: AbortSignal.timeout(5_000),
    });
    if (!res.ok) throw new Error(`GET /metrics: HTTP ${res.status}`);
    return res.text();
  };
  return {
    pid,
    port,
    metricsPort,
    url,
    logFile,
    metrics,
    decisions: async () => sumOfMetric(await metrics(), "tollgate_decisions_total"),
    stop,
  };
}
