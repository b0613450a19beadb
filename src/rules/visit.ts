import type { V1Container, V1PodSecurityContext, V1SecurityContext } from "@kubernetes/client-node";
import type { PodSpecTarget } from "./types.js";

export type ContainerList = "initContainers" | "containers" | "ephemeralContainers";

const LISTS: readonly ContainerList[] = ["initContainers", "containers", "ephemeralContainers"];

export interface VisitedContainer {
  container: V1Container;
  list: ContainerList;
  /** The container's name, or `#<index>` when it has none. */
  name: string;
  /** Field path from the object's root to the container, e.g. `spec.containers[name=web]`. */
  path: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Every container of a pod spec: init, regular and ephemeral, in that order, so that no rule
 * forgets one. Entries that are not objects are passed over: the apiserver rejects them anyway.
 * The list is kept on the target, so the rules of one evaluation share one walk. It was once kept
 * in a WeakMap keyed by the target: under paced load that sent about 7 MB/s of short-lived
 * objects into V8's old generation, a full GC every second and a p99 of 12 ms (BENCHMARKS.md).
 */
export function containersOf(target: PodSpecTarget): VisitedContainer[] {
  if (target.visited) return target.visited;
  const visited: VisitedContainer[] = [];
  const spec: unknown = target.spec;
  if (isRecord(spec)) {
    for (const list of LISTS) {
      const entries = spec[list];
      if (!Array.isArray(entries)) continue;
      entries.forEach((entry: unknown, index) => {
        if (!isRecord(entry)) return;
        const name = typeof entry.name === "string" && entry.name !== "" ? entry.name : `#${index}`;
        const selector = name.startsWith("#") ? `[${index}]` : `[name=${name}]`;
        visited.push({
          container: entry as unknown as V1Container,
          list,
          name,
          path: `${target.specPath}.${list}${selector}`,
        });
      });
    }
  }
  target.visited = visited;
  return visited;
}

/** The container's securityContext, or an empty one when absent or malformed. */
export function containerSecurity(container: V1Container): V1SecurityContext {
  const sc: unknown = container.securityContext;
  return isRecord(sc) ? (sc as V1SecurityContext) : {};
}

/** The pod-level securityContext, or an empty one when absent or malformed. */
export function podSecurity(target: PodSpecTarget): V1PodSecurityContext {
  const spec: unknown = target.spec;
  if (!isRecord(spec)) return {};
  const sc = spec.securityContext;
  return isRecord(sc) ? (sc as V1PodSecurityContext) : {};
}

/** Pods with `spec.os.name: windows` are exempt from the Linux-only Pod Security controls. */
export function isWindows(target: PodSpecTarget): boolean {
  const spec: unknown = target.spec;
  if (!isRecord(spec)) return false;
  const os = spec.os;
  return isRecord(os) && os.name === "windows";
}

/** Field path from the object's root to the metadata that goes with the pod spec (`metadata` for a Pod). */
export function podMetaPath(target: PodSpecTarget): string {
  return target.specPath === "spec" ? "metadata" : `${target.specPath.slice(0, -"spec".length)}metadata`;
}

/** A name in double quotes, as messages show it. */
export function quote(name: string): string {
  return JSON.stringify(name);
}

export { isRecord };
