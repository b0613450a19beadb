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
 * The selectors of a policy's `matchConstraints` (or a binding's `matchResources`): false when the
 * namespace or object selector does not select the request; a MatchError when the namespace's
 * labels are needed and not known (an error only if the resource rules select the request).
 */
export function selectorsMatch(match: V1MatchResources, request: RequestAttributes): boolean | MatchError {
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
  return namespaceError ?? true;
}

/** The resource rules of a match, without what is excluded: do they select the request? */
export function resourceRulesMatch(match: V1MatchResources, request: RequestAttributes): boolean {
  const matchPolicy = match.matchPolicy ?? "Equivalent";
  if (rulesMatch(match.excludeResourceRules ?? [], matchPolicy, request)) return false;
  const rules = match.resourceRules ?? [];
  return rules.length === 0 || rulesMatch(rules, matchPolicy, request);
}

/** Do the match's resource rules name resources (`resourceNames`)? Then they read the request's name. */
export function namesResources(match: V1MatchResources): boolean {
  return [...(match.resourceRules ?? []), ...(match.excludeResourceRules ?? [])].some(
    (rule) => (rule.resourceNames ?? []).length > 0,
  );
}

/**
 * Everything else resourceRulesMatch reads of a request, as one key: the operation, the resource,
 * the subresource, and whether the request is cluster-scoped.
 */
export function resourceKeyOf(request: RequestAttributes): string {
  const { group, version, resource } = request.resource;
  const scope = request.namespace === "" ? "c" : "n";
  const sub = request.subResource;
  // Each part behind its length, so that no two requests share a key (a part may hold any character).
  const operation = request.operation;
  return `${scope}${operation.length}:${operation}${group.length}:${group}${version.length}:${version}${resource.length}:${resource}${sub.length}:${sub}`;
}

/** Would two requests have the same resourceKeyOf? Compared part by part, without making the keys. */
export function sameResourceKey(a: RequestAttributes, b: RequestAttributes): boolean {
  return (
    a.operation === b.operation &&
    a.resource.resource === b.resource.resource &&
    a.resource.group === b.resource.group &&
    a.resource.version === b.resource.version &&
    a.subResource === b.subResource &&
    (a.namespace === "") === (b.namespace === "")
  );
}

/**
 * Does a policy's `matchConstraints` (or a binding's `matchResources`) select the request? As the
 * apiserver's generic matcher: namespace selector, object selector, excluded rules, resource rules;
 * a namespace whose labels are unknown is an error only when the rest selects the request.
 */
export function matchesResources(match: V1MatchResources, request: RequestAttributes): boolean {
  const selected = selectorsMatch(match, request);
  if (selected === false || !resourceRulesMatch(match, request)) return false;
  if (selected instanceof MatchError) throw selected;
  return true;
}
