/**
 * The helm CLI for the chart tests (test/charts/ and test/e2e/helm.test.ts): built from its pinned Go
 * module by scripts/helm.sh on first use and cached, so a fresh machine needs no extra step.
 *
 * Every run gets its own HELM_CONFIG_HOME/CACHE/DATA under a temporary directory, so a user's helm
 * repositories, plugins or registry logins never change what a test sees.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const CHART_DIR = join(REPO_ROOT, "charts", "tollgate");
const BUILD_SCRIPT = join(REPO_ROOT, "scripts", "helm.sh");

/** How long a cold build may take: about 5 min on 2 busy cores; the hooks that call it allow this. */
export const HELM_BUILD_TIMEOUT_MS = 15 * 60 * 1000;

export interface RunResult {
  /** Exit code; 128 when killed. */
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Written to standard input. */
  input?: string;
  /** Added to the environment (KUBECONFIG for helm install and friends). */
  env?: Readonly<Record<string, string>>;
  /** Killed after this long; default 120 s. */
  timeoutMs?: number;
}

let helmPromise: Promise<string> | undefined;

/** The helm binary: `$TOLLGATE_HELM_BIN` when set, else the one scripts/helm.sh builds or has cached. */
export function ensureHelm(): Promise<string> {
  helmPromise ??= resolveHelm().catch((error: unknown) => {
    helmPromise = undefined; // a later call may try again
    throw error;
  });
  return helmPromise;
}

async function resolveHelm(): Promise<string> {
  const fromEnv = process.env.TOLLGATE_HELM_BIN;
  const path = fromEnv ? fromEnv : await runBuildScript();
  if (!existsSync(path)) throw new Error(`helm binary missing at ${path}`);
  return path;
}

function runBuildScript(): Promise<string> {
  return new Promise((resolve, reject) => {
    // Progress (stderr) goes straight to ours, so a cold build shows what it is doing.
    const child = spawn("bash", [BUILD_SCRIPT], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "inherit"] });
    let stdout = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      const last = stdout.trim().split("\n").at(-1)?.trim();
      if (code !== 0 || !last) reject(new Error(`${BUILD_SCRIPT} failed (code ${code}, signal ${signal})`));
      else resolve(last);
    });
  });
}

/** Runs `command args`, collecting its output; never rejects on a non-zero exit. */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, ...options.env },
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
    const timeoutMs = options.timeoutMs ?? 120_000;
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${timeoutMs} ms)`;
      if (child.pid !== undefined) process.kill(child.pid, "SIGKILL");
    }, timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 128, stdout, stderr });
    });
    child.stdin.on("error", () => {
      // the command may exit before reading its input
    });
    child.stdin.end(options.input ?? "");
  });
}

export interface Helm {
  /** Runs the built helm with isolated settings directories. */
  (args: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** Removes the settings directories. */
  cleanup(): void;
}

/** A helm runner whose settings live in a fresh temporary directory. */
export async function helmRunner(): Promise<Helm> {
  const binary = await ensureHelm();
  const home = mkdtempSync(join(tmpdir(), "tollgate-helm-"));
  const env = {
    HELM_CONFIG_HOME: join(home, "config"),
    HELM_CACHE_HOME: join(home, "cache"),
    HELM_DATA_HOME: join(home, "data"),
  };
  const helm = (args: readonly string[], options: RunOptions = {}) =>
    run(binary, args, { ...options, env: { ...env, ...options.env } });
  return Object.assign(helm, { cleanup: () => rmSync(home, { recursive: true, force: true }) });
}
