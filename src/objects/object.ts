import type { V1ObjectMeta } from "@kubernetes/client-node";
import { groupOf, type KindInfo, kindInGroup, NO_TEMPLATE_KINDS, type TemplateKinds } from "./kinds.js";

/** A Kubernetes object as it arrives: only apiVersion, kind and metadata are trusted to exist. */
export type KubeObject = Record<string, unknown>;

/** The object under review, reduced to what every finding names. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
}

/** Who sent a request, as the apiserver vouches for it in `request.userInfo`. */
export interface UserInfo {
  username?: string;
  groups?: string[];
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

export function metadataOf(object: KubeObject): V1ObjectMeta {
  return isRecord(object.metadata) ? (object.metadata as V1ObjectMeta) : {};
}

/** The identity every finding carries. `namespace` is the request's when the object has none. */
export function refOf(object: KubeObject, fallbackNamespace = ""): ObjectRef {
  const meta = metadataOf(object);
  const kind = text(object.kind);
  return {
    apiVersion: text(object.apiVersion),
    kind,
    // The apiserver sets a Namespace's own name as the request's namespace; the object has none.
    namespace: kind === "Namespace" ? "" : text(meta.namespace) || fallbackNamespace,
    name: text(meta.name) || text(meta.generateName),
  };
}

/** The value at `path`, or undefined where a step is not an object. */
export function dig(object: unknown, path: readonly string[]): unknown {
  let current: unknown = object;
  for (const key of path) {
    if (!isRecord(current)) return undefined;
    current = current[key];
  }
  return current;
}

const NO_STRINGS: Readonly<Record<string, unknown>> = Object.freeze({});

/** `metadata.labels` or `metadata.annotations` of a raw object, or an empty map. */
export function metadataMap(
  object: Readonly<Record<string, unknown>> | undefined,
  field: "labels" | "annotations",
): Readonly<Record<string, unknown>> {
  const meta = object?.metadata;
  if (!isRecord(meta)) return NO_STRINGS;
  const map = meta[field];
  return isRecord(map) ? map : NO_STRINGS;
}

/** A label or annotation value; absent when missing or not a string. */
export function stringAt(map: Readonly<Record<string, unknown>>, key: string): string | undefined {
  const value = map[key];
  return typeof value === "string" ? value : undefined;
}

/**
 * How many Pods the object asks for: 1 for a Pod, `spec.replicas` for a replicated workload (the
 * apiserver defaults it to 1), undefined for kinds with no fixed count (DaemonSet, Job…).
 */
export function replicasOf(
  object: KubeObject,
  info: KindInfo | undefined = kindInGroup(groupOf(text(object.apiVersion)), text(object.kind)),
): number | undefined {
  if (info?.replicas === "one") return 1;
  if (info?.replicas !== "spec") return undefined;
  const replicas = dig(object, ["spec", "replicas"]);
  return typeof replicas === "number" ? replicas : 1;
}

/** Does an owner reference's `apiVersion` name `group`? The core group's only version is `v1`. */
function ownerGroupIs(apiVersion: string, group: string): boolean {
  return group === ""
    ? apiVersion === "v1"
    : apiVersion.startsWith(`${group}/`) && !apiVersion.slice(group.length + 1).includes("/");
}

/**
 * The kind of the workload that controls this object, when it is one whose template tollgate
 * checks (matched on API group and kind). Says nothing about whether that owner exists: the
 * ownerReferences are written by whoever writes the object. `templates` (the config's pod
 * templates, which audit judges) count as such workloads too: a Rollout's ReplicaSets.
 */
export function controllerOf(
  object: KubeObject,
  templates: TemplateKinds = NO_TEMPLATE_KINDS,
): string | undefined {
  const owners = metadataOf(object).ownerReferences;
  if (!Array.isArray(owners)) return undefined;
  for (const owner of owners) {
    if (!isRecord(owner) || owner.controller !== true) continue;
    const apiVersion = text(owner.apiVersion);
    const info = kindInGroup(groupOf(apiVersion), text(owner.kind));
    if (info?.controlsPods === true && ownerGroupIs(apiVersion, info.group)) return info.kind;
    const template = templates.get(`${groupOf(apiVersion)}/${text(owner.kind)}`);
    if (template !== undefined && ownerGroupIs(apiVersion, template.group)) return template.kind;
  }
  return undefined;
}

/** The Namespace objects among `objects`, by name (the inputs of `check`, an audit's snapshot). */
export function namespacesIn(objects: readonly KubeObject[]): ReadonlyMap<string, KubeObject> {
  const byName = new Map<string, KubeObject>();
  for (const object of objects) {
    const ref = refOf(object);
    if (ref.kind === "Namespace" && ref.apiVersion === "v1") byName.set(ref.name, object);
  }
  return byName;
}

/** An object's Namespace among those known: itself for a Namespace, null when not known. */
export function namespaceFor(
  object: KubeObject,
  namespaces: ReadonlyMap<string, KubeObject>,
): KubeObject | null {
  const ref = refOf(object);
  if (ref.kind === "Namespace" && ref.apiVersion === "v1") return object;
  return namespaces.get(ref.namespace || "default") ?? null;
}
