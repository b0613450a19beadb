import { existsSync, mkdtempSync, rmSync } from "node:fs";
import nodeModule from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { runTollgate } from "./run.js";

const folders: string[] = [];
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

/** `tollgate ARGS` with a temporary folder of its own; whether Node's compile cache appeared in it. */
async function cacheAfter(args: string[], env: NodeJS.ProcessEnv = {}) {
  const folder = mkdtempSync(join(tmpdir(), "tollgate-cache-"));
  folders.push(folder);
  const ran = await runTollgate(args, { env: { ...process.env, TMPDIR: folder, ...env } });
  expect(ran.code).toBe(0);
  return existsSync(join(folder, "node-compile-cache"));
}

// Node 20 has no compile cache; the image's Node (24) does, and `npm run test:image-node` runs this there.
const hasCache = typeof (nodeModule as { enableCompileCache?: unknown }).enableCompileCache === "function";

describe.runIf(hasCache)("Node's compile cache", () => {
  test("a command keeps its compiled code in the temporary folder", async () => {
    expect(await cacheAfter(["rules", "--output", "json"])).toBe(true);
  });

  test("NODE_DISABLE_COMPILE_CACHE=1 turns it off", async () => {
    expect(await cacheAfter(["rules", "--output", "json"], { NODE_DISABLE_COMPILE_CACHE: "1" })).toBe(false);
  });

  test("serve writes none", async () => {
    expect(await cacheAfter(["serve", "--help"])).toBe(false);
  });
});
