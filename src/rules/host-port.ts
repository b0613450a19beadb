import type { PodSpecTarget, RawFinding, Rule } from "./types.js";
import { containersOf, quote } from "./visit.js";
import { POD_SPEC_KINDS } from "../objects/kinds.js";

export const hostPort: Rule<PodSpecTarget> = {
  id: "host-port",
  title: "Containers bind no host port",
  category: "security",
  defaultSeverity: "deny",
  targets: ["podSpec"],
  kinds: POD_SPEC_KINDS,
  description:
    "A hostPort opens the port on the node's own address, around NetworkPolicies and Services, and limits the workload to one pod per node. The Pod Security Standards' baseline profile requires hostPort to be unset or 0.",
  remediation: `Remove hostPort and reach the pods through a Service:

\`\`\`yaml
containers:
  - name: web
    ports:
      - containerPort: 8080
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
    - port: 80
      targetPort: 8080
\`\`\``,
  check(target) {
    const findings: RawFinding[] = [];
    for (const visited of containersOf(target)) {
      visited.container.ports?.forEach((port, index) => {
        if (port.hostPort === undefined || port.hostPort === 0) return;
        const name = quote(visited.name);
        findings.push({
          path: `${visited.path}.ports[${index}].hostPort`,
          container: visited.name,
          message: `container ${name} binds hostPort ${port.hostPort}`,
          fix: `remove hostPort from container ${name}; expose it through a Service`,
        });
      });
    }
    return findings;
  },
};
