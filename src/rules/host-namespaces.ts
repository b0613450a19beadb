import type { PodSpecTarget, RawFinding, Rule } from "./types.js";
import { POD_SPEC_KINDS } from "../objects/kinds.js";

const FIELDS = ["hostNetwork", "hostPID", "hostIPC"] as const;

export const hostNamespaces: Rule<PodSpecTarget> = {
  id: "host-namespaces",
  title: "Pods do not share the node's namespaces",
  category: "security",
  defaultSeverity: "deny",
  targets: ["podSpec"],
  kinds: POD_SPEC_KINDS,
  description:
    "hostNetwork lets a pod listen on and sniff the node's interfaces and reach services bound to localhost; hostPID lets it see and signal every process on the node; hostIPC lets it read other processes' shared memory. The Pod Security Standards forbid all three from the baseline profile up.",
  remediation: `Leave the node's namespaces alone; expose the pod through a Service:

\`\`\`yaml
spec:
  hostNetwork: false
  hostPID: false
  hostIPC: false
\`\`\``,
  check(target) {
    const findings: RawFinding[] = [];
    for (const field of FIELDS) {
      if (target.spec[field] !== true) continue;
      findings.push({
        path: `${target.specPath}.${field}`,
        message: `pod sets ${field}=true`,
        fix: `remove ${field} from the pod spec`,
      });
    }
    return findings;
  },
};
