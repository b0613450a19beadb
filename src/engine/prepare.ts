import { policyMetadataChanges } from "../rules/annotations.js";
import type { ClusterFacts, Mode, RequestContext, Source, Target } from "../rules/types.js";
import {
  controllerOf,
  isRecord,
  type KubeObject,
  metadataMap,
  type ObjectRef,
  refOf,
  type UserInfo,
} from "../objects/object.js";
import type { Policy } from "./policy.js";
import { isPolicyAdmin, requesterName } from "./protected.js";
import { extractTargets } from "./targets.js";
import {
  groupOf,
  guessResource,
  kindOrTemplate,
  NO_TEMPLATE_KINDS,
  type TemplateKinds,
} from "../objects/kinds.js";
import type { RequestAttributes, VapRequest } from "../objects/request.js";

export type Operation = "CREATE" | "UPDATE" | "DELETE" | "CONNECT";

export interface EvaluationInput {
  object: KubeObject;
  oldObject?: KubeObject | undefined;
  operation: Operation;
  /** The request's namespace, for objects that do not carry one. */
  namespace?: string | undefined;
  subResource?: string | undefined;
  userInfo?: UserInfo | undefined;
  mode: Mode;
  source: Source;
  facts?: ClusterFacts | undefined;
  /** The clock for exemption expiry; the current time when absent. */
  now?: Date | undefined;
  /** The resource the request names (the webhook); derived from the kind when absent. */
  resource?: { group: string; version: string; resource: string } | undefined;
  /**
   * What the requester asked for, when the apiserver converted the object to another version for
   * the webhook (the review's requestKind and requestResource): policies match against it.
   */
  requested?:
    | {
        kind: { group: string; version: string; kind: string };
        resource: { group: string; version: string; resource: string };
      }
    | undefined;
  dryRun?: boolean | undefined;
  /** The object's Namespace, for policies' `namespaceObject` and namespace selectors; null when unknown. */
  namespaceObject?: KubeObject | null | undefined;
}

/** What the rules and the resolution need to know about one request, worked out once. */
export interface Prepared {
  input: EvaluationInput;
  ref: ObjectRef;
  /** The namespace the object is in, or names itself for a Namespace. */
  namespace: string;
  /** The namespace an object without one is in: the request's. */
  fallbackNamespace: string;
  targets: Target[];
  /** Who asks and what changes, at admission only: `check` and `audit` judge the object as it is. */
  request: RequestContext | undefined;
  /** Run only these rules: a status write judges the policy metadata, not the spec. */
  only: ReadonlySet<string> | undefined;
  /**
   * The requester who added or changed exemption annotations without being a policy admin, so
   * that the exemption they wrote grants nothing.
   */
  exemptionSetByNonAdmin: string | undefined;
}

/**
 * Subresources whose writes keep the object's metadata (labels, annotations) but not its spec: a
 * status update cannot make a Pod privileged, but it can set the mode label or an exemption
 * annotation, so only `protected-policy-label` judges it.
 */
const METADATA_ONLY_SUBRESOURCES: ReadonlySet<string> = new Set(["status", "finalize"]);
const POLICY_METADATA_RULES: ReadonlySet<string> = new Set(["protected-policy-label"]);

/**
 * May a controlled Pod be skipped as already judged? Only when a workload controller creates it
 * (the webhook) or it already runs in the cluster (audit). Anyone can write `ownerReferences`, so a
 * Pod that a person applies, or that `check` reads from a file, is judged like any other.
 */
function ownerIsTrusted(input: EvaluationInput, config: Policy["config"]): boolean {
  if (input.source === "audit") return true;
  if (input.source !== "admission") return false;
  const username = input.userInfo?.username;
  return username !== undefined && config.workloadControllers.includes(username);
}

/**
 * What the rules look at: the object's targets, and the whole request when a ValidatingAdmissionPolicy
 * runs in this source (it is described only then).
 */
export function targetsOf(
  input: EvaluationInput,
  ref: ObjectRef,
  fallbackNamespace: string,
  policy: Policy,
): Target[] {
  const targets = extractTargets(input.object, fallbackNamespace, policy.templates);
  if (policy.bySource[input.source].byTarget.has("request")) {
    targets.push({ type: "request", object: ref, request: vapRequestOf(input, ref, policy.templates) });
  }
  return targets;
}

/**
 * The first step of an evaluation: the object's identity and targets, the requester, the policy
 * metadata the change sets; or why the object is not judged at all (a DELETE, an excluded
 * namespace, a Pod a workload controller made from a template already judged).
 */
export function prepare(input: EvaluationInput, policy: Policy): Prepared | { skipped: string } {
  const { config } = policy;
  const policies = policy.bySource[input.source].byTarget.get("request");
  const judgesChange = input.operation === "CREATE" || input.operation === "UPDATE";
  if (!judgesChange && policies === undefined) return { skipped: `${input.operation} is not checked` };
  const fallbackNamespace = input.namespace ?? "";
  const ref = refOf(input.object, fallbackNamespace);
  const namespace = ref.kind === "Namespace" ? ref.name : ref.namespace;
  // The webhook never sees excluded namespaces and audit leaves them out, but `check` judges
  // whatever files it is given: a manifest is not exempt because of the namespace it names.
  if (input.source !== "check" && namespace !== "" && config.excludedNamespaces.includes(namespace)) {
    return { skipped: `namespace ${namespace} is excluded` };
  }
  if (input.operation !== "CREATE" && input.operation !== "UPDATE") {
    // A DELETE or CONNECT is judged by ValidatingAdmissionPolicies only (they may match it); the
    // built-in rules judge objects as they are written.
    return {
      input,
      ref,
      namespace,
      fallbackNamespace,
      targets: [{ type: "request", object: ref, request: vapRequestOf(input, ref, policy.templates) }],
      request: undefined,
      only: new Set(policies!.map(({ rule }) => rule.id)),
      exemptionSetByNonAdmin: undefined,
    };
  }
  if (ref.kind === "Pod" && config.skipOwnedPods && !input.subResource && ownerIsTrusted(input, config)) {
    const owner = controllerOf(input.object);
    if (owner) return { skipped: `Pod is controlled by a ${owner}, whose template was checked` };
  }
  const request: RequestContext | undefined =
    input.source === "admission"
      ? {
          operation: input.operation,
          object: input.object,
          oldObject: input.oldObject,
          requester: requesterName(input.userInfo),
          requesterIsPolicyAdmin: isPolicyAdmin(input.userInfo, config.policyAdmins),
        }
      : undefined;
  const exemptionSetByNonAdmin =
    request !== undefined &&
    !request.requesterIsPolicyAdmin &&
    policyMetadataChanges(input.object, input.oldObject).annotations.length > 0
      ? request.requester
      : undefined;
  const targets = targetsOf(input, ref, fallbackNamespace, policy);
  return {
    input,
    ref,
    namespace,
    fallbackNamespace,
    targets,
    request,
    only: METADATA_ONLY_SUBRESOURCES.has(input.subResource ?? "") ? POLICY_METADATA_RULES : undefined,
    exemptionSetByNonAdmin,
  };
}

/** An object's labels, for policy selectors; undefined when there is no object (the old one on CREATE). */
function labelsOf(object: KubeObject | null | undefined): Readonly<Record<string, string>> | undefined {
  return object ? (metadataMap(object, "labels") as Readonly<Record<string, string>>) : undefined;
}

/**
 * The request as the apiserver describes it to a ValidatingAdmissionPolicy. The webhook passes what
 * the AdmissionReview says (resource, dry run, the namespace from the cache); `check` and `test`
 * describe a CREATE of the manifest: the resource from the kinds table or the config's pod templates
 * (a kind neither names gets the lower-case plural), the Namespace from the inputs when one is there.
 */
export function vapRequestOf(
  input: EvaluationInput,
  ref: ObjectRef,
  templates: TemplateKinds = NO_TEMPLATE_KINDS,
): VapRequest {
  const group = groupOf(ref.apiVersion);
  const slash = ref.apiVersion.indexOf("/");
  const version = slash === -1 ? ref.apiVersion : ref.apiVersion.slice(slash + 1);
  const info = kindOrTemplate(group, ref.kind, templates);
  const resource = input.resource ?? {
    group,
    version,
    resource: info?.resource ?? guessResource(ref.kind),
  };
  const namespace = ref.kind === "Namespace" && group === "" ? ref.name : ref.namespace;
  const namespaceObject = input.namespaceObject ?? null;
  const isDelete = input.operation === "DELETE";
  const object = isDelete ? null : input.object;
  const oldObject = input.oldObject ?? null;
  const kind = { group, version, kind: ref.kind };
  // The apiserver matches a policy against the request as made (matchPolicy Exact sees only that
  // version), and gives its expressions the object in the version it matched.
  const requested = input.requested ?? { kind, resource };
  const attributes: RequestAttributes = {
    operation: input.operation,
    kind: requested.kind,
    resource: requested.resource,
    subResource: input.subResource ?? "",
    namespace,
    name: ref.name,
    objectLabels: labelsOf(object),
    oldObjectLabels: labelsOf(oldObject),
    namespaceLabels: namespaceObject ? labelsOf(namespaceObject) : undefined,
  };
  const user = input.userInfo ?? {};
  return {
    attributes,
    object,
    oldObject,
    request: {
      kind,
      resource,
      subResource: attributes.subResource,
      requestKind: requested.kind,
      requestResource: requested.resource,
      requestSubResource: attributes.subResource,
      name: ref.name,
      namespace,
      operation: input.operation,
      userInfo: { username: user.username ?? "", uid: "", groups: user.groups ?? [], extra: {} },
      dryRun: input.dryRun === true,
      options: null,
    },
    namespaceObject: namespaceObject ? namespaceView(namespaceObject) : null,
  };
}

/** What the apiserver shows a policy of the Namespace: its metadata (as CreateNamespaceObject keeps it), spec and status. */
function namespaceView(namespace: KubeObject): KubeObject {
  const metadata = isRecord(namespace.metadata) ? namespace.metadata : {};
  const kept: Record<string, unknown> = {};
  for (const key of [
    "name",
    "generateName",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "finalizers",
  ]) {
    if (metadata[key] !== undefined) kept[key] = metadata[key];
  }
  return { metadata: kept, spec: namespace.spec ?? {}, status: namespace.status ?? {} };
}
