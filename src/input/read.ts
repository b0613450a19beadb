import { open } from "node:fs/promises";

/**
 * The most `tollgate check` reads from one file or from stdin: 80,000 Deployments fit in it, far
 * more than a chart or an overlay renders, and checking 60 MB of them took 5.9 s and 1.2 GB of
 * memory (built CLI, this machine). Without a bound `/dev/zero` or an endless pipe was read until
 * the process died.
 */
export const MAX_INPUT_BYTES = 64 * 1024 * 1024;

/** An input past MAX_INPUT_BYTES: nothing of it is checked. */
export class InputTooLarge extends Error {
  override name = "InputTooLarge";
  constructor(readonly limit: number) {
    super(
      `larger than ${limit / (1024 * 1024)} MiB, so not read; split it (tollgate check takes several files and folders)`,
    );
  }
}

/**
 * A file's text, read up to `limit` bytes: its size is checked first, and the read stops past the
 * limit too, for files that grow or have no size (`/dev/zero`, a FIFO).
 */
export async function readFileBounded(path: string, limit = MAX_INPUT_BYTES): Promise<string> {
  const handle = await open(path, "r");
  try {
    const info = await handle.stat();
    if (info.isFile() && info.size > limit) throw new InputTooLarge(limit);
    const parts: Buffer[] = [];
    let total = 0;
    const chunk = Math.min(limit + 1, info.isFile() && info.size > 0 ? info.size + 1 : 1024 * 1024);
    for (;;) {
      const buffer = Buffer.allocUnsafe(Math.min(chunk, limit + 1 - total));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      parts.push(bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead));
      total += bytesRead;
      if (total > limit) throw new InputTooLarge(limit);
    }
    return Buffer.concat(parts, total).toString("utf8");
  } finally {
    await handle.close();
  }
}

/** All of a stream as UTF-8, up to `limit` bytes; past it the stream is let go and InputTooLarge thrown. */
export async function readStreamBounded(
  stream: AsyncIterable<string | Buffer>,
  limit = MAX_INPUT_BYTES,
): Promise<string> {
  const parts: Buffer[] = [];
  let total = 0;
  for await (const part of stream) {
    const buffer = typeof part === "string" ? Buffer.from(part) : part;
    total += buffer.length;
    // Leaving the loop ends the iteration, which destroys a Node stream: nothing more is read.
    if (total > limit) throw new InputTooLarge(limit);
    parts.push(buffer);
  }
  return Buffer.concat(parts, total).toString("utf8");
}
