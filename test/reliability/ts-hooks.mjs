// Module hooks that let a child `node` run tollgate's TypeScript sources without a build:
// `./x.js` imports inside src/ resolve to `./x.ts`, which TypeScript transpiles (no type check).
//
// Loading TypeScript takes about a second of each child's start-up, so what it makes of a file is
// kept in a cache keyed by the file's content, the compiler options and TypeScript's version: a
// child whose files are all in the cache never loads it. The content, not the mtime, is the key,
// so an edit within the mtime's resolution or a checkout that keeps the size is never served stale.
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, readFileSync } from "node:fs";
import { readFile, rename, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** As TypeScript's own option names and values; transpileModule converts the strings. */
const COMPILER_OPTIONS = { module: "esnext", target: "es2022", sourceMap: false };

const TYPESCRIPT_VERSION = /** @type {{ version: string }} */ (
  JSON.parse(readFileSync(createRequire(import.meta.url).resolve("typescript/package.json"), "utf8"))
).version;

const SALT = `${TYPESCRIPT_VERSION}\0${JSON.stringify(COMPILER_OPTIONS)}\0`;

/**
 * The cache folder, or undefined when it cannot be trusted: it lives in the shared temporary
 * folder, so it must be a real folder of this user that no one else can write to (else another
 * user could plant code that a test runs).
 */
function cacheFolder() {
  const uid = process.getuid?.();
  if (uid === undefined) return undefined;
  const dir = join(tmpdir(), `tollgate-ts-cache-${uid}`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const stats = lstatSync(dir);
    return stats.isDirectory() && stats.uid === uid && (stats.mode & 0o022) === 0 ? dir : undefined;
  } catch {
    return undefined;
  }
}

const CACHE = cacheFolder();

/** @type {Promise<typeof import("typescript")> | undefined} */
let typescript;

/** @param {string} fileName @param {string} source */
async function transpile(fileName, source) {
  typescript ??= import("typescript").then((module) => module.default);
  const ts = await typescript;
  return ts.transpileModule(source, {
    fileName,
    compilerOptions: /** @type {import("typescript").CompilerOptions} */ (
      /** @type {unknown} */ (COMPILER_OPTIONS)
    ),
  }).outputText;
}

/** @param {string} fileName @param {string} source */
async function cachedTranspile(fileName, source) {
  if (CACHE === undefined) return transpile(fileName, source);
  const entry = join(CACHE, `${createHash("sha256").update(SALT).update(source).digest("hex")}.js`);
  try {
    return await readFile(entry, "utf8");
  } catch {
    // Not cached yet.
  }
  const output = await transpile(fileName, source);
  // Written aside and renamed, so that a child starting meanwhile never reads half a file.
  const partial = `${entry}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  try {
    await writeFile(partial, output, { mode: 0o600 });
    await rename(partial, entry);
  } catch {
    // A full disk only costs the next child the transpile.
  }
  return output;
}

/** @type {import("node:module").ResolveHook} */
export async function resolve(specifier, context, next) {
  if (specifier.startsWith(".") && specifier.endsWith(".js") && context.parentURL?.endsWith(".ts")) {
    const candidate = new URL(specifier.replace(/\.js$/, ".ts"), context.parentURL);
    if (existsSync(fileURLToPath(candidate))) return { url: candidate.href, shortCircuit: true };
  }
  return next(specifier, context);
}

/** @type {import("node:module").LoadHook} */
export async function load(url, context, next) {
  if (!url.endsWith(".ts")) return next(url, context);
  const fileName = fileURLToPath(url);
  const source = await cachedTranspile(fileName, await readFile(fileName, "utf8"));
  return { format: "module", source, shortCircuit: true };
}
