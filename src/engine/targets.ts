import type {
  V1ClusterRoleBinding,
  V1Namespace,
  V1ObjectMeta,
  V1PodSpec,
  V1PolicyRule,
  V1Secret,
  V1ServiceAccount,
} from "@kubernetes/client-node";
import type { Target } from "../rules/types.js";
import { groupOf, kindInGroup } from "../objects/kinds.js";
import { dig, isRecord, type KubeObject, metadataOf, refOf, replicasOf } from "../objects/object.js";

/**
 * What the rules look at in an object: its pod spec, RBAC rules, binding, Namespace,
 * ServiceAccount or Secret. Kinds tollgate has no rule for give no target.
 */
export function extractTargets(object: KubeObject, fallbackNamespace = ""): Target[] {
  const ref = refOf(object, fallbackNamespace);
  const info = kindInGroup(groupOf(ref.apiVersion), ref.kind);
  const podPath = info?.podSpecPath;
  if (info && podPath) {
    const spec = dig(object, podPath);
    if (!isRecord(spec)) return [];
    const metaPath = [...podPath.slice(0, -1), "metadata"];
    const podMeta = ref.kind === "Pod" ? metadataOf(object) : dig(object, metaPath);
    return [
      {
        type: "podSpec",
        object: ref,
        podMeta: isRecord(podMeta) ? (podMeta as V1ObjectMeta) : {},
        spec: spec as unknown as V1PodSpec,
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
    case "ClusterRole": {
      const rules = Array.isArray(object.rules) ? (object.rules as V1PolicyRule[]) : [];
      return [{ type: "rbacRules", object: ref, rules }];
    }
    case "RoleBinding":
    case "ClusterRoleBinding":
      return [{ type: "binding", object: ref, binding: object as unknown as V1ClusterRoleBinding }];
    case "Namespace":
      return [{ type: "namespace", object: ref, namespace: object as unknown as V1Namespace }];
    case "ServiceAccount":
      return [{ type: "serviceAccount", object: ref, serviceAccount: object as unknown as V1ServiceAccount }];
    case "Secret":
      return [{ type: "secret", object: ref, secret: object as unknown as V1Secret }];
    default:
      return [];
  }
}
