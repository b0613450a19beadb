import type { PodSpecTarget, RawFinding, Rule } from "./types.js";
import { podSecurity } from "./visit.js";
import { POD_SPEC_KINDS } from "../objects/kinds.js";

/**
 * The Pod Security Standards' safe sysctls, as of their newest version (Kubernetes 1.32 added
 * tcp_rmem and tcp_wmem). Each is namespaced and isolated from other pods on the node.
 */
export const SAFE_SYSCTLS: ReadonlySet<string> = new Set([
  "kernel.shm_rmid_forced",
  "net.ipv4.ip_local_port_range",
  "net.ipv4.tcp_syncookies",
  "net.ipv4.ping_group_range",
  "net.ipv4.ip_unprivileged_port_start",
  "net.ipv4.ip_local_reserved_ports",
  "net.ipv4.tcp_keepalive_time",
  "net.ipv4.tcp_fin_timeout",
  "net.ipv4.tcp_keepalive_intvl",
  "net.ipv4.tcp_keepalive_probes",
  "net.ipv4.tcp_rmem",
  "net.ipv4.tcp_wmem",
]);

export const sysctlsUnsafe: Rule<PodSpecTarget> = {
  id: "sysctls-unsafe",
  title: "Pods set only safe sysctls",
  category: "security",
  defaultSeverity: "deny",
  targets: ["podSpec"],
  kinds: POD_SPEC_KINDS,
  description:
    "Sysctls outside the safe set change kernel settings that other pods on the node share, or switch off security mechanisms. Pods may set only the sysctls the Pod Security Standards' baseline profile lists as safe: kernel.shm_rmid_forced, net.ipv4.ip_local_port_range, net.ipv4.ip_local_reserved_ports, net.ipv4.ip_unprivileged_port_start, net.ipv4.ping_group_range, net.ipv4.tcp_syncookies, net.ipv4.tcp_keepalive_time, net.ipv4.tcp_keepalive_intvl, net.ipv4.tcp_keepalive_probes, net.ipv4.tcp_fin_timeout, net.ipv4.tcp_rmem and net.ipv4.tcp_wmem.",
  remediation: `Keep to the safe sysctls; tune anything else on the nodes:

\`\`\`yaml
spec:
  securityContext:
    sysctls:
      - name: net.ipv4.ip_unprivileged_port_start
        value: "0"
\`\`\``,
  check(target) {
    const findings: RawFinding[] = [];
    for (const sysctl of podSecurity(target).sysctls ?? []) {
      if (sysctl.name === undefined) continue;
      // The kubelet accepts `/` as the separator too: net/ipv4/tcp_syncookies is the same sysctl.
      if (SAFE_SYSCTLS.has(sysctl.name.replaceAll("/", "."))) continue;
      findings.push({
        path: `${target.specPath}.securityContext.sysctls[name=${sysctl.name}]`,
        message: `pod sets unsafe sysctl ${sysctl.name}`,
        fix: `remove sysctl ${sysctl.name} from spec.securityContext.sysctls; set it on the nodes if it is needed`,
      });
    }
    return findings;
  },
};
