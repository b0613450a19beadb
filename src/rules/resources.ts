import type { Container } from "../objects/shapes.js";

/** The resource names of `wanted` that the container does not set under `resources.<section>`. */
export function resourceGaps(
  container: Container,
  section: "requests" | "limits",
  wanted: readonly string[],
): string[] {
  const present = container.resources?.[section];
  return wanted.filter((name) => {
    const value = present?.[name];
    return value === undefined || value === null || value === "";
  });
}
