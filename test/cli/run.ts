import { spawn } from "node:child_process";

export interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall-clock milliseconds from spawn to exit, start-up included. */
  ms: number;
}

/**
 * `tollgate ARGS…` from the sources in a child process (no build needed), with `stdin` written
 * and closed, or closed at once: the exit code is the process's own. `unprivileged` runs it as
 * nobody when the tests run as root, so that file permissions apply to it; `env` replaces the
 * environment.
 */
export function runTollgate(
  args: string[],
  options: { stdin?: string; unprivileged?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<Ran> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "./test/reliability/ts-register.mjs", "src/main.ts", ...args],
      {
        stdio: ["pipe", "pipe", "pipe"],
        env: { ...(options.env ?? process.env), NO_COLOR: "1" },
        // Permissions do not bind root: a test of an unreadable path runs the child as nobody.
        ...(options.unprivileged && process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {}),
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("error", reject);
    child.on("close", (code, signal) =>
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started }),
    );
    child.stdin.end(options.stdin ?? "");
  });
}
