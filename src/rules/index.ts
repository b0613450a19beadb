import { apparmorUnconfined } from "./apparmor-unconfined.js";
import { capabilitiesNotDropped } from "./capabilities-not-dropped.js";
import { containerLimitsMissing } from "./container-limits-missing.js";
import { containerRequestsMissing } from "./container-requests-missing.js";
import { dangerousCapabilitiesAdded } from "./dangerous-capabilities-added.js";
import { defaultServiceAccount } from "./default-service-account.js";
import { hostNamespaces } from "./host-namespaces.js";
import { hostPathVolume } from "./host-path-volume.js";
import { hostPort } from "./host-port.js";
import { imageRegistryUntrusted } from "./image-registry-untrusted.js";
import { imageTagMutable } from "./image-tag-mutable.js";
import { livenessProbeMissing } from "./liveness-probe-missing.js";
import { namespacePssLabelMissing } from "./namespace-pss-label-missing.js";
import { networkpolicyMissing } from "./networkpolicy-missing.js";
import { nodePlacementMissing } from "./node-placement-missing.js";
import { pdbMissing } from "./pdb-missing.js";
import { privilegeEscalationAllowed } from "./privilege-escalation-allowed.js";
import { privilegedContainer } from "./privileged-container.js";
import { procMountUnmasked } from "./proc-mount-unmasked.js";
import { protectedPolicyLabel } from "./protected-policy-label.js";
import { rbacClusterAdminBinding } from "./rbac-cluster-admin-binding.js";
import { rbacDefaultServiceAccountBinding } from "./rbac-default-service-account-binding.js";
import { rbacEscalationVerbs } from "./rbac-escalation-verbs.js";
import { rbacPodExec } from "./rbac-pod-exec.js";
import { rbacSecretsAccess } from "./rbac-secrets-access.js";
import { rbacWildcard } from "./rbac-wildcard.js";
import { readinessProbeMissing } from "./readiness-probe-missing.js";
import { runAsRoot } from "./run-as-root.js";
import { seccompProfileMissing } from "./seccomp-profile-missing.js";
import { secretDataInManifest } from "./secret-data-in-manifest.js";
import { secretInEnvLiteral } from "./secret-in-env-literal.js";
import { selinuxCustomOptions } from "./selinux-custom-options.js";
import { serviceAccountTokenAutomounted } from "./service-account-token-automounted.js";
import { sysctlsUnsafe } from "./sysctls-unsafe.js";
import type { Rule, Target } from "./types.js";
import { writableRootFilesystem } from "./writable-root-filesystem.js";

const KEBAB_CASE = /^[a-z0-9]+(-[a-z0-9]+)*$/;

/**
 * A registry that refuses duplicate or malformed ids, so two entries can never answer to one name.
 * Rules and the audit's checklist items are both registered by it; `noun` names them in the errors.
 */
export function buildRegistry<T extends { readonly id: string }>(
  entries: readonly T[],
  noun = "rule",
): ReadonlyMap<string, T> {
  const registry = new Map<string, T>();
  for (const entry of entries) {
    if (!KEBAB_CASE.test(entry.id)) {
      throw new Error(`${noun} id ${JSON.stringify(entry.id)} is not kebab-case`);
    }
    if (registry.has(entry.id)) throw new Error(`${noun} id ${JSON.stringify(entry.id)} is registered twice`);
    registry.set(entry.id, entry);
  }
  return registry;
}

function erase<T extends Target>(rule: Rule<T>): Rule {
  return rule as unknown as Rule;
}

/** Every rule tollgate ships, in catalog order (the order of the design's table). */
export const ALL_RULES: readonly Rule[] = [
  erase(containerRequestsMissing),
  erase(containerLimitsMissing),
  erase(privilegedContainer),
  erase(runAsRoot),
  erase(privilegeEscalationAllowed),
  erase(capabilitiesNotDropped),
  erase(dangerousCapabilitiesAdded),
  erase(seccompProfileMissing),
  erase(writableRootFilesystem),
  erase(hostNamespaces),
  erase(hostPathVolume),
  erase(hostPort),
  erase(procMountUnmasked),
  erase(sysctlsUnsafe),
  erase(apparmorUnconfined),
  erase(selinuxCustomOptions),
  erase(defaultServiceAccount),
  erase(serviceAccountTokenAutomounted),
  erase(imageTagMutable),
  erase(imageRegistryUntrusted),
  erase(livenessProbeMissing),
  erase(readinessProbeMissing),
  erase(secretInEnvLiteral),
  erase(secretDataInManifest),
  erase(nodePlacementMissing),
  erase(rbacWildcard),
  erase(rbacClusterAdminBinding),
  erase(rbacSecretsAccess),
  erase(rbacPodExec),
  erase(rbacEscalationVerbs),
  erase(rbacDefaultServiceAccountBinding),
  erase(namespacePssLabelMissing),
  erase(networkpolicyMissing),
  erase(pdbMissing),
  erase(protectedPolicyLabel),
];

export const RULES = buildRegistry(ALL_RULES);
