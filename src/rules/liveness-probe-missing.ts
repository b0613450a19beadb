import { missingProbe } from "./probes.js";
import type { PodSpecTarget, Rule } from "./types.js";
import { LONG_RUNNING_KINDS } from "../objects/kinds.js";

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
    return missingProbe(target, "livenessProbe");
  },
};
