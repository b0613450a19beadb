import type { PodSpecTarget, RawFinding, Rule } from "./types.js";
import { containerSecurity, containersOf, podMetaPath, podSecurity, quote } from "./visit.js";
import { POD_SPEC_KINDS } from "../objects/kinds.js";
import type { AppArmorProfile } from "../objects/shapes.js";

const ANNOTATION_PREFIX = "container.apparmor.security.beta.kubernetes.io/";

function badFieldType(profile: AppArmorProfile | undefined): string | undefined {
  if (profile === undefined) return undefined;
  const type = profile.type;
  return type === "RuntimeDefault" || type === "Localhost" ? undefined : String(type ?? "");
}

/**
 * What a field's type sets: `Unconfined` takes the profile away; anything else is no type at all,
 * which the apiserver refuses, so it is named invalid rather than unconfined.
 */
function fieldProblem(type: string): string {
  return type === "Unconfined"
    ? `appArmorProfile.type=${type}`
    : `invalid appArmorProfile.type=${type || '""'}`;
}

export const apparmorUnconfined: Rule<PodSpecTarget> = {
  id: "apparmor-unconfined",
  title: "Containers keep their AppArmor profile",
  category: "security",
  defaultSeverity: "deny",
  targets: ["podSpec"],
  kinds: POD_SPEC_KINDS,
  description:
    "An Unconfined AppArmor profile removes the runtime's default mandatory access control from the container. As in the Pod Security Standards' baseline profile, appArmorProfile.type (pod or container) may only be RuntimeDefault or Localhost, and the older container.apparmor.security.beta.kubernetes.io/<container> annotation only runtime/default or localhost/<profile>. A value that is no profile at all (a typo, docker-default) is reported as invalid: the apiserver refuses it.",
  remediation: `Use the runtime's default profile, or a profile loaded on the nodes:

\`\`\`yaml
spec:
  securityContext:
    appArmorProfile:
      type: RuntimeDefault
\`\`\``,
  check(target) {
    const findings: RawFinding[] = [];
    const podType = badFieldType(podSecurity(target).appArmorProfile);
    if (podType !== undefined) {
      findings.push({
        path: `${target.specPath}.securityContext.appArmorProfile.type`,
        message: `pod sets ${fieldProblem(podType)}`,
        fix: "set spec.securityContext.appArmorProfile.type: RuntimeDefault (or Localhost)",
      });
    }
    for (const visited of containersOf(target)) {
      const type = badFieldType(containerSecurity(visited.container).appArmorProfile);
      if (type === undefined) continue;
      const name = quote(visited.name);
      findings.push({
        path: `${visited.path}.securityContext.appArmorProfile.type`,
        container: visited.name,
        message: `container ${name} sets ${fieldProblem(type)}`,
        fix: `set securityContext.appArmorProfile.type: RuntimeDefault on container ${name}`,
      });
    }
    const annotations = target.podMeta.annotations;
    if (annotations === undefined) return findings;
    for (const key in annotations) {
      if (!key.startsWith(ANNOTATION_PREFIX)) continue;
      const value = annotations[key];
      if (value === "runtime/default" || (typeof value === "string" && value.startsWith("localhost/")))
        continue;
      const container = key.slice(ANNOTATION_PREFIX.length);
      // The apiserver refuses any value but these three forms: a typo is not "unconfined".
      const known = value === "unconfined";
      findings.push({
        path: `${podMetaPath(target)}.annotations[${key}]`,
        container,
        // The key names the container; the message stays under Kubernetes' warning length.
        message: known
          ? `container ${quote(container)} has AppArmor annotation ${String(value)}`
          : `AppArmor annotation ${quote(String(value))} is no profile`,
        fix: `set annotation ${key} to runtime/default, or use securityContext.appArmorProfile`,
      });
    }
    return findings;
  },
};
