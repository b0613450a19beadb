import type { V1Container } from "@kubernetes/client-node";
import { isRecord } from "./visit.js";

/** Kinds whose objects carry a pod spec, as the catalog lists them. */
export const POD_SPEC_KINDS = [
  "Pod",
  "Deployment",
  "StatefulSet",
  "DaemonSet",
  "ReplicaSet",
  "ReplicationController",
  "Job",
  "CronJob",
  "PodTemplate",
] as const;

/** Pod-spec kinds whose pods keep running (not Jobs and CronJobs, which run to completion). */
export const LONG_RUNNING_KINDS = POD_SPEC_KINDS.filter((kind) => kind !== "Job" && kind !== "CronJob");

/** Pod-spec kinds that run pods in the cluster (a PodTemplate only describes them). */
export const WORKLOAD_KINDS = POD_SPEC_KINDS.filter((kind) => kind !== "PodTemplate");

/** The resource names of `wanted` that the container does not set under `resources.<section>`. */
export function resourceGaps(
  container: V1Container,
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
