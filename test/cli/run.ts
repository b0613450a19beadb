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
 * and closed, or closed at once: the exit code is the process's own.
 */
export function runTollgate(args: string[], options: { stdin?: string } = {}): Promise<Ran> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "./test/reliability/ts-register.mjs", "src/main.ts", ...args],
      { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } },
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
