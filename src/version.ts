import { readFileSync } from "node:fs";

/** The package's name on the npm registry: scoped, so that nobody else can publish under it. */
export const PACKAGE_NAME = "@tollgate-dev/tollgate";

let cached: string | undefined;

/**
 * tollgate's own version, read at run time from the package.json above this file: `../` from
 * `src/version.ts` (tests, a checkout), `../../` from `dist/src/version.js` (the build, an
 * installed package). "0.0.0" when neither is tollgate's (a bundler moved the file).
 */
export function toolVersion(): string {
  if (cached !== undefined) return cached;
  cached = "0.0.0";
  for (const up of ["../package.json", "../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), "utf8")) as {
        name?: unknown;
        version?: unknown;
      };
      if (pkg.name === PACKAGE_NAME && typeof pkg.version === "string") {
        cached = pkg.version;
        break;
      }
    } catch {
      // Not at this level; try the next one up.
    }
  }
  return cached;
}
