import type { KubeObject, ObjectRef } from "../objects/object.js";
import type { VapRequest } from "../objects/request.js";
import type {
  Binding,
  Container,
  Metadata,
  Namespace,
  PodSpec,
  PolicyRule,
  Secret,
  ServiceAccount,
} from "../objects/shapes.js";

export type Severity = "deny" | "warn" | "off";
export type Mode = "enforce" | "warn";

export type Category =
  | "resources"
  | "security"
  | "identity"
  | "images"
  | "health"
  | "secrets"
  | "scheduling"
  | "rbac"
  | "namespace"
  | "network"
  | "availability"
  | "policy"
  /** A ValidatingAdmissionPolicy a team wrote. */
  | "custom";

/** Where a check runs: the webhook, `tollgate check` on files, or `tollgate audit` on a cluster. */
export type Source = "admission" | "check" | "audit";

export type ContainerList = "initContainers" | "containers" | "ephemeralContainers";

export interface VisitedContainer {
  container: Container;
  list: ContainerList;
  /** The container's name, or `#<index>` when it has none. */
  name: string;
  /** Field path from the object's root to the container, e.g. `spec.containers[name=web]`. */
  path: string;
}

/** A Pod spec, wherever it sits: a Pod, or the pod template of a workload. */
export interface PodSpecTarget {
  type: "podSpec";
  object: ObjectRef;
  /** Metadata of the object that carries the spec (the template's for workloads); empty when absent. */
  podMeta: Metadata;
  spec: PodSpec;
  /** Field path from the object's root to the pod spec, e.g. `spec.template.spec`. */
  specPath: string;
  /** The workload kind that carries this pod spec (Pod, Deployment, CronJob…). */
  workloadKind: string;
  /** Jobs and CronJobs run to completion: no liveness or readiness probes expected. */
  runsToCompletion: boolean;
  /** The number of replicas the workload asks for (1 for a bare Pod, undefined for DaemonSets). */
  replicas: number | undefined;
  /** Its containers, filled by `containersOf` on first use. */
  visited?: VisitedContainer[];
}

export interface RbacRulesTarget {
  type: "rbacRules";
  object: ObjectRef;
  rules: readonly PolicyRule[];
}

export interface BindingTarget {
  type: "binding";
  object: ObjectRef;
  binding: Binding;
}

export interface NamespaceTarget {
  type: "namespace";
  object: ObjectRef;
  namespace: Namespace;
}

export interface ServiceAccountTarget {
  type: "serviceAccount";
  object: ObjectRef;
  serviceAccount: ServiceAccount;
}

export interface SecretTarget {
  type: "secret";
  object: ObjectRef;
  secret: Secret;
}

/**
 * The whole request, for ValidatingAdmissionPolicies: they judge any object and the change, not a
 * part of it. Made only when policies are loaded.
 */
export interface RequestTarget {
  type: "request";
  object: ObjectRef;
  request: VapRequest;
}

/**
 * What the rules judge in an object, narrowed once by `extractTargets` (`objects/shapes.ts`): every
 * field holds what its type says, so a rule reads it as typed, without checking it again.
 */
export type Target =
  | PodSpecTarget
  | RbacRulesTarget
  | BindingTarget
  | NamespaceTarget
  | ServiceAccountTarget
  | SecretTarget
  | RequestTarget;

export type TargetType = Target["type"];

/** Cross-resource facts from the informer cache; absent when there is no cluster connection. */
export interface ClusterFacts {
  /** undefined when the cache has not synced or does not know the namespace. */
  hasDefaultDenyIngress(namespace: string): boolean | undefined;
  /** undefined when the cache has not synced. */
  pdbSelects(namespace: string, podLabels: Readonly<Record<string, string>>): boolean | undefined;
  /** The Namespace object, for ValidatingAdmissionPolicies; undefined when not known. */
  namespace?(name: string): KubeObject | undefined;
}

export interface RuleContext {
  /** Options of this rule from the config (`rules.<id>.options`), merged over the rule's defaults. */
  options: Readonly<Record<string, unknown>>;
  /** Registries allowed by the config (`allowedRegistries`). */
  allowedRegistries: readonly string[];
  /** Label keys that mark node pools (`nodePoolKeys`). */
  nodePoolKeys: readonly string[];
  source: Source;
  facts: ClusterFacts | undefined;
  /** The admission request around the object; only set when a requester is known (the webhook). */
  request?: RequestContext | undefined;
}

/** Who asks for what, for rules that judge the change rather than the object. */
export interface RequestContext {
  operation: "CREATE" | "UPDATE";
  object: Readonly<Record<string, unknown>>;
  oldObject: Readonly<Record<string, unknown>> | undefined;
  /** The requester's username, as messages show it. */
  requester: string;
  requesterIsPolicyAdmin: boolean;
}

/** What a rule reports; the engine adds the rule id, object and severity. */
export interface RawFinding {
  /** Full field path from the object's root, e.g. `spec.template.spec.containers[name=web].securityContext`. */
  path: string;
  /** Container name, where the finding is about one container. */
  container?: string;
  /** What is wrong, one line, naming the container and field. */
  message: string;
  /** How to fix it, one line. */
  fix: string;
  /**
   * Lowers the rule's severity for this finding: a ValidatingAdmissionPolicy binding with `Warn`
   * warns, one with only `Audit` is reported by check, audit and metrics, never in a response.
   */
  action?: "warn" | "audit";
  /**
   * The status reason a denial for this finding carries (`Invalid`, `Forbidden`…): a
   * ValidatingAdmissionPolicy's validation names it; `Forbidden` when absent.
   */
  reason?: string;
}

export interface Rule<T extends Target = Target> {
  id: string;
  title: string;
  category: Category;
  defaultSeverity: Severity;
  /** The kinds of target the rule applies to. */
  targets: readonly T["type"][];
  /** Kubernetes kinds the rule covers, for the catalog and the webhook configuration. */
  kinds: readonly string[];
  /** Sources the rule runs in; all when absent. */
  sources?: readonly Source[];
  description: string;
  /** How to fix, with a YAML snippet. */
  remediation: string;
  /** Option defaults, for rules that take options. */
  defaultOptions?: Readonly<Record<string, unknown>>;
  /** Not downgraded by warn mode or the ratchet, and not exemptable (rules that guard the policy itself). */
  alwaysEnforced?: boolean;
  /** Reads only `ctx.facts` (the informer cache): without them it finds nothing, so it checks nothing. */
  needsFacts?: boolean;
  check(target: T, ctx: RuleContext): RawFinding[];
}

/** A finding with everything a report or a response needs. */
export interface Finding extends RawFinding {
  rule: string;
  severity: Exclude<Severity, "off">;
  kind: string;
  namespace: string;
  name: string;
  /** Set on findings an exemption covers (`Evaluation.exempted`). */
  exemption?: ExemptionRef;
  /** Set on deny findings the ratchet turned into warnings: the old object already had them. */
  ratcheted?: boolean;
  /** Reported by check, audit and metrics only, never in an admission response (a binding's `Audit`). */
  audit?: boolean;
}

/** The exemption that covers a finding, for reports. */
export interface ExemptionRef {
  source: "config" | "annotation";
  reason: string;
  /** Last day it holds, `YYYY-MM-DD`. */
  until: string;
}
