import type { V1NodeSelectorTerm, V1PodSpec } from "@kubernetes/client-node";
import type { Config } from "../../config/schema.js";
import { type KindInfo, KINDS, WORKLOAD_KINDS } from "../../objects/kinds.js";
import { controllerOf, dig, isRecord, type ObjectRef, refOf } from "../../objects/object.js";
import type { ClusterSnapshot } from "../snapshot.js";
import { list } from "./shared.js";

/**
 * The workloads whose placement the scheduling checks judge: the pod-spec kinds that run Pods, less
 * DaemonSets (node agents are meant to run on every node), less what a workload controller owns (its
 * template is judged on the owner), outside the excluded (system) namespaces.
 */
export const PLACED_KINDS = WORKLOAD_KINDS.filter((kind) => kind !== "DaemonSet");

export interface PlacedWorkload {
  kind: string;
  ref: ObjectRef;
  spec: V1PodSpec;
  /** Where the pod spec sits (`spec.template.spec`). */
  specPath: string;
}

export function applicationWorkloads(snapshot: ClusterSnapshot, config: Config): PlacedWorkload[] {
  const workloads: PlacedWorkload[] = [];
  for (const kind of PLACED_KINDS) {
    const info: KindInfo = KINDS[kind];
    for (const object of list(snapshot, kind)) {
      const ref = refOf(object);
      if (config.excludedNamespaces.includes(ref.namespace) || controllerOf(object) !== undefined) continue;
      const spec = dig(object, info.podSpecPath ?? []);
      if (!isRecord(spec)) continue;
      workloads.push({
        kind,
        ref,
        spec: spec as unknown as V1PodSpec,
        specPath: (info.podSpecPath ?? []).join("."),
      });
    }
  }
  return workloads;
}

/** The required node affinity's terms; the scheduler places a Pod on a node that matches one of them. */
export function requiredTerms(spec: V1PodSpec): V1NodeSelectorTerm[] {
  return spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
}

/** The node label keys a pod spec selects on: its nodeSelector's and its required node affinity's. */
export function selectedKeys(spec: V1PodSpec): string[] {
  const keys = Object.keys(spec.nodeSelector ?? {});
  for (const term of requiredTerms(spec)) {
    for (const expression of term.matchExpressions ?? []) keys.push(expression.key);
  }
  return keys;
}
