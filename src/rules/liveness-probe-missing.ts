import { longRunning } from "./probes.js";
import { LONG_RUNNING_KINDS } from "./resources.js";
import type { PodSpecTarget, RawFinding, Rule } from "./types.js";
import { containersOf, quote } from "./visit.js";

export const livenessProbeMissing: Rule<PodSpecTarget> = {
  id: "liveness-probe-missing",
  title: "Long-running containers declare a livenessProbe",
  category: "health",
  defaultSeverity: "warn",
  targets: ["podSpec"],
  kinds: LONG_RUNNING_KINDS,
  description:
    "Without a liveness probe a container that hangs (a deadlock, an exhausted pool) keeps its place and its traffic until someone notices. Every long-running container should declare a livenessProbe that fails only when a restart would help. Jobs, CronJobs, pods that run to completion and init containers are not checked.",
  remediation: `Add a livenessProbe on an endpoint the process serves:

\`\`\`yaml
containers:
  - name: web
    livenessProbe:
      httpGet:
        path: /healthz
        port: 8080
      periodSeconds: 10
      failureThreshold: 3
\`\`\``,
  check(target) {
    const findings: RawFinding[] = [];
    for (const visited of longRunning(target, containersOf(target))) {
      if (visited.container.livenessProbe != null) continue;
      const name = quote(visited.name);
      findings.push({
        path: `${visited.path}.livenessProbe`,
        container: visited.name,
        message: `container ${name} has no livenessProbe`,
        fix: `add a livenessProbe to container ${name}`,
      });
    }
    return findings;
  },
};
