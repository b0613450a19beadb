/** The streams and environment a command uses; tests pass their own. */
export interface CliIO {
  stdin: AsyncIterable<string | Buffer>;
  /** `columns` is the terminal's width, when stdout is one. */
  stdout: { write(text: string): unknown; isTTY?: boolean; columns?: number };
  stderr: { write(text: string): unknown; isTTY?: boolean };
  env: Readonly<Record<string, string | undefined>>;
}

export function processIO(): CliIO {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env };
}
