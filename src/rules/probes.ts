import type { PodSpecTarget } from "./types.js";
import type { VisitedContainer } from "./visit.js";

/**
 * The containers expected to answer probes: regular containers of pods that keep running.
 * Jobs, CronJobs and pods with restartPolicy Never or OnFailure run to completion; init and
 * ephemeral containers are not probed for readiness of the service.
 */
export function longRunning(
  target: PodSpecTarget,
  containers: readonly VisitedContainer[],
): VisitedContainer[] {
  if (target.runsToCompletion) return [];
  const restartPolicy: unknown = target.spec.restartPolicy;
  if (restartPolicy === "Never" || restartPolicy === "OnFailure") return [];
  return containers.filter((visited) => visited.list === "containers");
}
