import type { PodSpecTarget, RawFinding, Rule } from "./types.js";
import { containerSecurity, containersOf, isWindows, quote } from "./visit.js";
import { POD_SPEC_KINDS } from "../objects/kinds.js";

export const writableRootFilesystem: Rule<PodSpecTarget> = {
  id: "writable-root-filesystem",
  title: "Containers have a read-only root filesystem",
  category: "security",
  defaultSeverity: "warn",
  targets: ["podSpec"],
  kinds: POD_SPEC_KINDS,
  description:
    "A writable root filesystem lets an intruder drop tools and change binaries in place, and hides state that disappears on restart. Every container should set readOnlyRootFilesystem and write only to mounted volumes (an emptyDir for scratch space). Windows pods are passed over: the API does not allow the field for them.",
  remediation: `Make the root filesystem read-only and mount a volume where the process writes:

\`\`\`yaml
containers:
  - name: web
    securityContext:
      readOnlyRootFilesystem: true
    volumeMounts:
      - name: tmp
        mountPath: /tmp
volumes:
  - name: tmp
    emptyDir: {}
\`\`\``,
  check(target) {
    if (isWindows(target)) return [];
    const findings: RawFinding[] = [];
    for (const visited of containersOf(target)) {
      if (containerSecurity(visited.container).readOnlyRootFilesystem === true) continue;
      const name = quote(visited.name);
      findings.push({
        path: `${visited.path}.securityContext.readOnlyRootFilesystem`,
        container: visited.name,
        message: `container ${name} must set readOnlyRootFilesystem=true`,
        fix: `set securityContext.readOnlyRootFilesystem: true on container ${name}; mount an emptyDir where it writes`,
      });
    }
    return findings;
  },
};
