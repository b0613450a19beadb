import { missingProbe } from "./probes.js";
import type { PodSpecTarget, Rule } from "./types.js";
import { LONG_RUNNING_KINDS } from "../objects/kinds.js";

export const readinessProbeMissing: Rule<PodSpecTarget> = {
  id: "readiness-probe-missing",
  title: "Long-running containers declare a readinessProbe",
  category: "health",
  defaultSeverity: "warn",
  targets: ["podSpec"],
  kinds: LONG_RUNNING_KINDS,
  description:
    "Without a readiness probe a container gets traffic as soon as it starts, before it has loaded its config or warmed its caches, and keeps getting it while it is overloaded. Every long-running container should declare a readinessProbe. Jobs, CronJobs, pods that run to completion and init containers are not checked.",
  remediation: `Add a readinessProbe on an endpoint the process serves:

\`\`\`yaml
containers:
  - name: web
    readinessProbe:
      httpGet:
        path: /readyz
        port: 8080
      periodSeconds: 5
\`\`\``,
  check(target) {
    return missingProbe(target, "readinessProbe");
  },
};
