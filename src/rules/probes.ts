import type { PodSpecTarget, RawFinding } from "./types.js";
import type { VisitedContainer } from "./types.js";
import { containersOf, quote } from "./visit.js";

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
  const restartPolicy = target.spec.restartPolicy;
  if (restartPolicy === "Never" || restartPolicy === "OnFailure") return [];
  return containers.filter((visited) => visited.list === "containers");
}

/** One finding per long-running container that lacks `probe`: the check of both probe rules. */
export function missingProbe(target: PodSpecTarget, probe: "livenessProbe" | "readinessProbe"): RawFinding[] {
  const findings: RawFinding[] = [];
  for (const visited of longRunning(target, containersOf(target))) {
    if (visited.container[probe] != null) continue;
    const name = quote(visited.name);
    findings.push({
      path: `${visited.path}.${probe}`,
      container: visited.name,
      message: `container ${name} has no ${probe}`,
      fix: `add a ${probe} to container ${name}`,
    });
  }
  return findings;
}
