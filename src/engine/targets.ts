import type { Target } from "../rules/types.js";
import { groupOf, kindOrTemplate, NO_TEMPLATE_KINDS, type TemplateKinds } from "../objects/kinds.js";
import { dig, type KubeObject, refOf, replicasOf } from "../objects/object.js";
import {
  binding,
  metadata,
  namespace,
  podSpec,
  policyRules,
  secret,
  serviceAccount,
} from "../objects/shapes.js";

/**
 * What the rules look at in an object: its pod spec, RBAC rules, binding, Namespace,
 * ServiceAccount or Secret, narrowed to the types the rules read (`objects/shapes.ts`), so that no
 * rule checks a field's type again. Kinds tollgate has no rule for give no target, and neither
 * does a pod spec that is not an object. `templates` are the custom resources whose pod template
 * the config names (`podTemplates`): their pod spec is a target as a workload's is.
 */
export function extractTargets(
  object: KubeObject,
  fallbackNamespace = "",
  templates: TemplateKinds = NO_TEMPLATE_KINDS,
): Target[] {
  const ref = refOf(object, fallbackNamespace);
  const info = kindOrTemplate(groupOf(ref.apiVersion), ref.kind, templates);
  const podPath = info?.podSpecPath;
  if (info && podPath) {
    const spec = podSpec(dig(object, podPath));
    if (spec === undefined) return [];
    // Beside the spec: `metadata` for a Pod, the template's for a workload.
    const metaPath = [...podPath.slice(0, -1), "metadata"];
    return [
      {
        type: "podSpec",
        object: ref,
        podMeta: metadata(dig(object, metaPath)) ?? {},
        spec,
        specPath: podPath.join("."),
        workloadKind: ref.kind,
        runsToCompletion: info.runsToCompletion === true,
        replicas: replicasOf(object, info),
      },
    ];
  }
  // The table matched the group as well: an `evil.example.com` Role is no Role.
  switch (info?.kind) {
    case "Role":
    case "ClusterRole":
      return [{ type: "rbacRules", object: ref, rules: policyRules(object.rules) ?? [] }];
    case "RoleBinding":
    case "ClusterRoleBinding":
      return [{ type: "binding", object: ref, binding: binding(object) ?? {} }];
    case "Namespace":
      return [{ type: "namespace", object: ref, namespace: namespace(object) ?? {} }];
    case "ServiceAccount":
      return [{ type: "serviceAccount", object: ref, serviceAccount: serviceAccount(object) ?? {} }];
    case "Secret":
      return [{ type: "secret", object: ref, secret: secret(object) ?? {} }];
    default:
      return [];
  }
}
