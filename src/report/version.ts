import { readFileSync } from "node:fs";

let cached: string | undefined;

/** tollgate's own version, from the package.json above this file (in `src/` and in `dist/src/`). */
export function toolVersion(): string {
  if (cached !== undefined) return cached;
  cached = "0.0.0";
  for (const up of ["../../package.json", "../../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), "utf8")) as {
        name?: unknown;
        version?: unknown;
      };
      if (pkg.name === "tollgate" && typeof pkg.version === "string") {
        cached = pkg.version;
        break;
      }
    } catch {
      // Not at this level; try the next one up.
    }
  }
  return cached;
}
