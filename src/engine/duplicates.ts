import type { ContainerList, Target } from "../rules/types.js";

const LISTS: readonly ContainerList[] = ["initContainers", "containers", "ephemeralContainers"];

/** Where a pod spec breaks the apiserver's validation, as it says it. */
export interface InvalidField {
  /** The field path, `spec.containers[1].name`. */
  path: string;
  /** `spec.containers[1].name: Duplicate value: "web"`. */
  message: string;
}

/**
 * The first container name a pod spec uses twice, as the apiserver reports it (names are unique
 * across init, regular and ephemeral containers), or undefined. Judged anyway, such an object
 * would show the second container's findings at the first one's line, and the apiserver refuses
 * it before any webhook sees it.
 */
export function duplicateContainerName(targets: readonly Target[]): InvalidField | undefined {
  for (const target of targets) {
    if (target.type !== "podSpec") continue;
    const seen = new Set<string>();
    for (const list of LISTS) {
      const entries = target.spec[list] ?? [];
      for (let index = 0; index < entries.length; index++) {
        const entry = entries[index];
        if (typeof entry !== "object" || entry === null) continue;
        const name = (entry as { name?: unknown }).name;
        if (typeof name !== "string" || name === "") continue;
        if (seen.has(name)) {
          const path = `${target.specPath}.${list}[${index}].name`;
          return { path, message: `${path}: Duplicate value: ${JSON.stringify(name)}` };
        }
        seen.add(name);
      }
    }
  }
  return undefined;
}
