import type { ContainerList, PodSpecTarget, VisitedContainer } from "./types.js";
import {
  type Container,
  container,
  type PodSecurityContext,
  type SecurityContext,
} from "../objects/shapes.js";

const LISTS: readonly ContainerList[] = ["initContainers", "containers", "ephemeralContainers"];

/**
 * Containers judged in one pod spec. Kubernetes sets no limit, but no real Pod comes near it; past
 * it a rule over the containers would run for as long as the object is large (a 3 MB Pod of 100 000
 * empty containers took over 200 ms per rule). The rest is not judged, and `containerTotalPastLimit`
 * says so, so that the engine can answer that it did not finish judging.
 */
export const MAX_CONTAINERS = 1000;

/**
 * The longest name or value quoted into a message: Kubernetes names are at most 253 characters.
 * The apiserver validates objects before it calls a validating webhook, but anyone who reaches the
 * webhook port can send a 7 MiB name, which quoted into every finding made an 88 MB answer.
 */
export const MAX_QUOTED = 253;

/** `text`, or its first `max - 1` characters and an ellipsis, never splitting a surrogate pair. */
export function clipText(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}

/** Pod specs whose containers were not all visited, with how many they have. */
const oversized = new WeakMap<VisitedContainer[], number>();

/**
 * Every container of a pod spec: init, regular and ephemeral, in that order, so that no rule
 * forgets one, each narrowed to the fields the rules read (`objects/shapes.ts`). Entries that are
 * not objects are passed over: the apiserver rejects them anyway. At most MAX_CONTAINERS entries
 * are looked at, and names are clipped to MAX_QUOTED characters.
 * The list is kept on the target, so the rules of one evaluation share one walk. It was once kept
 * in a WeakMap keyed by the target: under paced load that sent about 7 MB/s of short-lived
 * objects into V8's old generation, a full GC every second and a p99 of 12 ms (BENCHMARKS.md).
 */
export function containersOf(target: PodSpecTarget): VisitedContainer[] {
  if (target.visited) return target.visited;
  const visited: VisitedContainer[] = [];
  let total = 0;
  for (const list of LISTS) {
    const entries = target.spec[list];
    if (entries === undefined) continue;
    const examined = total;
    total += entries.length;
    const end = Math.min(entries.length, MAX_CONTAINERS - examined);
    for (let index = 0; index < end; index++) {
      const entry = container(entries[index]);
      if (entry === undefined) continue;
      const name = entry.name ? clipText(entry.name, MAX_QUOTED) : `#${index}`;
      const selector = name.startsWith("#") ? `[${index}]` : `[name=${name}]`;
      visited.push({ container: entry, list, name, path: `${target.specPath}.${list}${selector}` });
    }
  }
  if (total > MAX_CONTAINERS) oversized.set(visited, total);
  target.visited = visited;
  return visited;
}

/**
 * How many containers the pod spec has, when `containersOf` left some unvisited for being past
 * MAX_CONTAINERS; undefined when it visited them all, or no rule has asked for them yet.
 */
export function containerTotalPastLimit(target: PodSpecTarget): number | undefined {
  return target.visited === undefined ? undefined : oversized.get(target.visited);
}

const NO_SECURITY: SecurityContext & PodSecurityContext = Object.freeze({});

/** The container's securityContext, or an empty one when absent. */
export function containerSecurity(container: Container): SecurityContext {
  return container.securityContext ?? NO_SECURITY;
}

/** The pod-level securityContext, or an empty one when absent. */
export function podSecurity(target: PodSpecTarget): PodSecurityContext {
  return target.spec.securityContext ?? NO_SECURITY;
}

/** Pods with `spec.os.name: windows` are exempt from the Linux-only Pod Security controls. */
export function isWindows(target: PodSpecTarget): boolean {
  return target.spec.os?.name === "windows";
}

/** Field path from the object's root to the metadata that goes with the pod spec (`metadata` for a Pod). */
export function podMetaPath(target: PodSpecTarget): string {
  return target.specPath === "spec" ? "metadata" : `${target.specPath.slice(0, -"spec".length)}metadata`;
}

/** A name in double quotes, as messages show it; clipped to MAX_QUOTED characters. */
export function quote(name: string): string {
  return JSON.stringify(clipText(name, MAX_QUOTED));
}
