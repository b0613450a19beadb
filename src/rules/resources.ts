import { isRecord } from "../objects/object.js";
import type { Container } from "../objects/shapes.js";

/** The resource names of `wanted` that the container does not set under `resources.<section>`. */
export function resourceGaps(
  container: Container,
  section: "requests" | "limits",
  wanted: readonly string[],
): string[] {
  const resources: unknown = container.resources;
  const values = isRecord(resources) ? resources[section] : undefined;
  const present = isRecord(values) ? values : {};
  return wanted.filter((name) => {
    const value = present[name];
    return value === undefined || value === null || value === "";
  });
}
