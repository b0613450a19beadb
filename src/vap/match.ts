import type { V1LabelSelector, V1MatchResources, V1NamedRuleWithOperations } from "@kubernetes/client-node";
import type { RequestAttributes } from "../objects/request.js";
import { selectorMatches } from "../objects/selectors.js";

export type { RequestAttributes } from "../objects/request.js";

/** Why a policy could not be matched against a request (the apiserver answers these with an error). */
export class MatchError extends Error {
  override name = "MatchError";
}

function exactOrWildcard(items: readonly string[] | undefined, requested: string): boolean {
  return (items ?? []).some((item) => item === "*" || item === requested);
}

function splitResource(text: string): [string, string] {
  const slash = text.indexOf("/");
  return slash === -1 ? [text, ""] : [text.slice(0, slash), text.slice(slash + 1)];
}

/** k8s.io/apiserver/pkg/admission/plugin/webhook/predicates/rules: one rule against a request. */
export function ruleMatches(
  rule: V1NamedRuleWithOperations,
  request: RequestAttributes,
  resource = request.resource,
): boolean {
  const isNamespace = resource.group === "" && resource.resource === "namespaces";
  const scope = rule.scope ?? "*";
  if (scope === "Namespaced" && (isNamespace || request.namespace === "")) return false;
  if (scope === "Cluster" && !(isNamespace || request.namespace === "")) return false;
  if (scope !== "*" && scope !== "Namespaced" && scope !== "Cluster") return false;
  if (!(rule.operations ?? []).some((operation) => operation === "*" || operation === request.operation)) {
    return false;
  }
  if (!exactOrWildcard(rule.apiGroups, resource.group)) return false;
  if (!exactOrWildcard(rule.apiVersions, resource.version)) return false;
  const resourceMatches = (rule.resources ?? []).some((entry) => {
    const [name, sub] = splitResource(entry);
    return (name === "*" || name === resource.resource) && (sub === "*" || sub === request.subResource);
  });
  if (!resourceMatches) return false;
  const names = rule.resourceNames ?? [];
  return names.length === 0 || names.includes(request.name);
}

/**
 * The other versions the apiserver serves of a built-in resource, which `matchPolicy: Equivalent`
 * (the default) also matches. Of the built-in resources tollgate covers, only HorizontalPodAutoscalers
 * are served in two versions in the newest release; custom resources served in several versions are
 * not known offline and match only as requested.
 */
const EQUIVALENT_VERSIONS: Readonly<Record<string, readonly string[]>> = {
  "autoscaling/horizontalpodautoscalers": ["v2", "v1"],
};

function equivalentsOf(resource: RequestAttributes["resource"]): RequestAttributes["resource"][] {
  const versions = EQUIVALENT_VERSIONS[`${resource.group}/${resource.resource}`] ?? [];
  return versions
    .filter((version) => version !== resource.version)
    .map((version) => ({ ...resource, version }));
}

function rulesMatch(
  rules: readonly V1NamedRuleWithOperations[],
  matchPolicy: string,
  request: RequestAttributes,
): boolean {
  if (rules.some((rule) => ruleMatches(rule, request))) return true;
  if (matchPolicy === "Exact") return false;
  return equivalentsOf(request.resource).some((resource) =>
    rules.some((rule) => ruleMatches(rule, request, resource)),
  );
}

function isEmptySelector(selector: V1LabelSelector | undefined): boolean {
  return (
    selector === undefined ||
    (Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0)
  );
}

/**
 * Does a policy's `matchConstraints` (or a binding's `matchResources`) select the request? As the
 * apiserver's generic matcher: namespace selector, object selector, excluded rules, resource rules,
 * in that order; a namespace whose labels are unknown is an error only when the selector needs them.
 */
export function matchesResources(match: V1MatchResources, request: RequestAttributes): boolean {
  const namespaceSelector = match.namespaceSelector;
  const isNamespace = request.resource.group === "" && request.resource.resource === "namespaces";
  let namespaceError: MatchError | undefined;
  if ((request.namespace !== "" || isNamespace) && !isEmptySelector(namespaceSelector)) {
    const labels =
      isNamespace &&
      request.subResource === "" &&
      (request.operation === "CREATE" || request.operation === "UPDATE")
        ? (request.objectLabels ?? {})
        : request.namespaceLabels;
    if (labels === undefined) {
      namespaceError = new MatchError(`the labels of namespace "${request.namespace}" are not known`);
    } else if (!selectorMatches(namespaceSelector, labels)) {
      return false;
    }
  }
  const objectSelector = match.objectSelector;
  if (!isEmptySelector(objectSelector)) {
    const selects = (labels: Readonly<Record<string, string>> | undefined) =>
      labels !== undefined && selectorMatches(objectSelector, labels);
    if (!selects(request.objectLabels) && !selects(request.oldObjectLabels)) return false;
  }
  const matchPolicy = match.matchPolicy ?? "Equivalent";
  if (rulesMatch(match.excludeResourceRules ?? [], matchPolicy, request)) return false;
  const rules = match.resourceRules ?? [];
  if (rules.length > 0 && !rulesMatch(rules, matchPolicy, request)) return false;
  if (namespaceError) throw namespaceError;
  return true;
}
