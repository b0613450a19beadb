import { Readable } from "node:stream";
import type { CliIO } from "../../src/cli/io.js";

export interface Captured {
  io: CliIO;
  stdout: () => string;
  stderr: () => string;
}

/** Streams for a command under test: stdin from a string, stdout and stderr captured. */
export function captureIO(
  options: { stdin?: string; env?: Record<string, string>; tty?: boolean } = {},
): Captured {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: {
      stdin: Readable.from([Buffer.from(options.stdin ?? "")]),
      stdout: { write: (text: string) => out.push(text), isTTY: options.tty ?? false },
      stderr: { write: (text: string) => err.push(text), isTTY: options.tty ?? false },
      env: options.env ?? {},
    },
    stdout: () => out.join(""),
    stderr: () => err.join(""),
  };
}
