import type { PodSpecTarget, RawFinding, Rule } from "./types.js";
import { containerSecurity, containersOf, podSecurity, quote } from "./visit.js";
import { POD_SPEC_KINDS } from "../objects/kinds.js";
import type { SELinuxOptions } from "../objects/shapes.js";

/** SELinux types the Pod Security Standards allow (container_engine_t since Kubernetes 1.31). */
export const ALLOWED_SELINUX_TYPES: ReadonlySet<string> = new Set([
  "",
  "container_t",
  "container_init_t",
  "container_kvm_t",
  "container_engine_t",
]);

/** Findings for one seLinuxOptions: a type outside the allowed set, a user, a role. */
function judge(
  options: SELinuxOptions | undefined,
  who: string,
  path: string,
  container: string | undefined,
): RawFinding[] {
  if (options === undefined) return [];
  const findings: RawFinding[] = [];
  const type = options.type ?? "";
  if (typeof type !== "string" || !ALLOWED_SELINUX_TYPES.has(type)) {
    findings.push({
      path: `${path}.type`,
      ...(container === undefined ? {} : { container }),
      message: `${who} sets seLinuxOptions.type=${String(type)}`,
      fix: `remove seLinuxOptions.type from ${who} or use container_t`,
    });
  }
  for (const field of ["user", "role"] as const) {
    const value = options[field];
    if (value === undefined || value === null || value === "") continue;
    findings.push({
      path: `${path}.${field}`,
      ...(container === undefined ? {} : { container }),
      message: `${who} sets seLinuxOptions.${field}=${String(value)}`,
      fix: `remove seLinuxOptions.${field} from ${who}`,
    });
  }
  return findings;
}

export const selinuxCustomOptions: Rule<PodSpecTarget> = {
  id: "selinux-custom-options",
  title: "Pods keep the container SELinux context",
  category: "security",
  defaultSeverity: "deny",
  targets: ["podSpec"],
  kinds: POD_SPEC_KINDS,
  description:
    "A custom SELinux type such as spc_t (super-privileged container) or unconfined_t lifts the confinement SELinux gives containers, and a custom user or role changes who the process is to the policy. As in the Pod Security Standards' baseline profile, seLinuxOptions.type may only be container_t, container_init_t, container_kvm_t or container_engine_t, and user and role must be unset.",
  remediation: `Leave seLinuxOptions unset, or set only the level:

\`\`\`yaml
spec:
  securityContext:
    seLinuxOptions:
      level: "s0:c123,c456"
\`\`\``,
  check(target) {
    const findings = judge(
      podSecurity(target).seLinuxOptions,
      "pod",
      `${target.specPath}.securityContext.seLinuxOptions`,
      undefined,
    );
    for (const visited of containersOf(target)) {
      const options = containerSecurity(visited.container).seLinuxOptions;
      if (options === undefined) continue;
      findings.push(
        ...judge(
          options,
          `container ${quote(visited.name)}`,
          `${visited.path}.securityContext.seLinuxOptions`,
          visited.name,
        ),
      );
    }
    return findings;
  },
};
