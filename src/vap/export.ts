import type {
  V1LabelSelector,
  V1LabelSelectorRequirement,
  V1MatchCondition,
  V1MatchResources,
  V1ValidatingAdmissionPolicy,
  V1ValidatingAdmissionPolicyBinding,
} from "@kubernetes/client-node";
import { dump } from "js-yaml";
import type { Config } from "../config/schema.js";
import { MODE_LABEL } from "../objects/labels.js";
import type { PolicySet } from "./load.js";
import type { ValidationAction, VapBinding } from "./evaluate.js";
import { VAP_API_VERSION } from "./load.js";

/** One exported object with the comments that say what tollgate could not carry over. */
export interface ExportedObject {
  object: V1ValidatingAdmissionPolicy | V1ValidatingAdmissionPolicyBinding;
  comments: string[];
}

/** The label the apiserver sets on every Namespace to its own name (since 1.22). */
const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

type Rollout = "enforce" | "warn";

/** A mode's binding actions from the binding's own: warn mode turns Deny into Warn, as tollgate does. */
function actionsIn(mode: Rollout, actions: readonly ValidationAction[]): ValidationAction[] {
  if (mode === "enforce") return [...actions];
  const lowered = actions.map((action) => (action === "Deny" ? "Warn" : action));
  return [...new Set(lowered)];
}

function globToRegex(glob: string): string {
  const escaped = glob
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return `^${escaped}$`;
}

function quoteCel(text: string): string {
  return `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

interface Exclusions {
  namespaces: string[];
  conditions: V1MatchCondition[];
  comments: string[];
}

/**
 * The config's exemptions that cover a policy, as the apiserver can hold them: whole namespaces as a
 * `NotIn` on the namespace's name label, name globs and kinds as match conditions. An expiry cannot
 * be expressed (CEL has no clock), nor can a container, so those are named in a comment.
 */
function exclusionsFor(policy: string, config: Config): Exclusions {
  const namespaces = [...config.excludedNamespaces];
  const conditions: V1MatchCondition[] = [];
  const comments: string[] = [];
  config.exemptions.forEach((exemption, index) => {
    if (!exemption.rules.includes("*") && !exemption.rules.includes(policy)) return;
    const what = `exemption ${index + 1} (${exemption.reason})`;
    if (exemption.container !== undefined) {
      comments.push(
        `${what} exempts container ${JSON.stringify(exemption.container)}, which a binding cannot express: not exported`,
      );
      return;
    }
    comments.push(
      `${what} holds until ${exemption.until}; the apiserver cannot expire it: export again after that day`,
    );
    const tests: string[] = [];
    if (exemption.name !== undefined)
      tests.push(`object.metadata.name.matches(${quoteCel(globToRegex(exemption.name))})`);
    if (exemption.kind !== undefined) tests.push(`request.kind.kind == ${quoteCel(exemption.kind)}`);
    if (exemption.namespace !== undefined && tests.length === 0) {
      namespaces.push(exemption.namespace);
      return;
    }
    if (exemption.namespace !== undefined)
      tests.push(`request.namespace == ${quoteCel(exemption.namespace)}`);
    // On DELETE `object` is null; an exemption by name then reads the old object.
    const expression = `!(${tests.join(" && ")})`.replace(
      /object\.metadata/g,
      "(object != null ? object : oldObject).metadata",
    );
    conditions.push({ name: `tollgate-exemption-${index + 1}`, expression });
  });
  return { namespaces: [...new Set(namespaces)].sort(), conditions, comments };
}

/** The binding's match resources narrowed to one mode's namespaces and one scope; undefined when nothing is left. */
function withSelector(
  base: V1MatchResources | undefined,
  requirements: V1LabelSelectorRequirement[],
  scope: "Namespaced" | "Cluster",
): V1MatchResources | undefined {
  const own: V1LabelSelector = base?.namespaceSelector ?? {};
  const namespaceSelector: V1LabelSelector = {
    ...(own.matchLabels ? { matchLabels: own.matchLabels } : {}),
    matchExpressions: [...(own.matchExpressions ?? []), ...requirements],
  };
  // Namespace selectors do not apply to cluster-scoped objects, so each binding also says which
  // scope it covers: tollgate judges cluster-scoped objects in the default mode only.
  const scoped = { apiGroups: ["*"], apiVersions: ["*"], operations: ["*"], resources: ["*"], scope };
  const ownRules = base?.resourceRules;
  const rules =
    ownRules === undefined || ownRules.length === 0
      ? [scoped]
      : ownRules
          .filter((rule) => (rule.scope ?? "*") === "*" || rule.scope === scope)
          .map((rule) => ({ ...rule, scope }));
  if (rules.length === 0) return undefined;
  return {
    ...(base ?? {}),
    ...(scope === "Namespaced" ? { namespaceSelector } : {}),
    resourceRules: rules,
  };
}

interface BindingPlan {
  suffix: string;
  mode: Rollout;
  scope: "Namespaced" | "Cluster";
  requirements: V1LabelSelectorRequirement[];
}

function plansFor(config: Config, excluded: readonly string[]): BindingPlan[] {
  const notExcluded: V1LabelSelectorRequirement[] =
    excluded.length > 0 ? [{ key: NAMESPACE_NAME_LABEL, operator: "NotIn", values: [...excluded] }] : [];
  return [
    {
      suffix: "enforce",
      mode: "enforce",
      scope: "Namespaced",
      requirements: [{ key: MODE_LABEL, operator: "In", values: ["enforce"] }, ...notExcluded],
    },
    {
      suffix: "warn",
      mode: "warn",
      scope: "Namespaced",
      requirements: [{ key: MODE_LABEL, operator: "In", values: ["warn"] }, ...notExcluded],
    },
    {
      suffix: "default",
      mode: config.defaultMode,
      scope: "Namespaced",
      requirements: [{ key: MODE_LABEL, operator: "DoesNotExist" }, ...notExcluded],
    },
    { suffix: "cluster", mode: config.defaultMode, scope: "Cluster", requirements: [] },
  ];
}

/**
 * The policies with bindings that carry tollgate's rollout into the apiserver: for each binding of
 * a policy (or its implicit `[Deny]` one), one binding per mode, selected by the namespace's
 * `tollgate.dev/mode` label (unlabelled namespaces and cluster-scoped objects follow `defaultMode`),
 * `off` namespaces and excluded ones matching none.
 */
export function exportVap(set: PolicySet, config: Config): ExportedObject[] {
  const out: ExportedObject[] = [];
  for (const policy of set.policies) {
    const exclusions = exclusionsFor(policy.name, config);
    const manifest = policy.manifest;
    const spec = manifest.spec!;
    out.push({
      object: {
        apiVersion: VAP_API_VERSION,
        kind: "ValidatingAdmissionPolicy",
        metadata: { name: policy.name, labels: { "app.kubernetes.io/managed-by": "tollgate" } },
        spec: {
          ...spec,
          failurePolicy: policy.failurePolicy,
          matchConditions: [...(spec.matchConditions ?? []), ...exclusions.conditions],
        },
      },
      comments: [`exported by tollgate export vap from ${policy.location.file}`, ...exclusions.comments],
    });
    const bindings = set.bindings.filter((binding) => binding.policyName === policy.name);
    for (const binding of bindings) out.push(...bindingsFor(binding, config, exclusions.namespaces));
  }
  return out;
}

function bindingsFor(binding: VapBinding, config: Config, excluded: readonly string[]): ExportedObject[] {
  const base = binding.name ?? binding.policyName;
  return plansFor(config, excluded).flatMap((plan) => {
    const matchResources = withSelector(binding.matchResources, plan.requirements, plan.scope);
    return matchResources === undefined ? [] : [exportedBinding(binding, base, plan, matchResources, config)];
  });
}

function exportedBinding(
  binding: VapBinding,
  base: string,
  plan: BindingPlan,
  matchResources: V1MatchResources,
  config: Config,
): ExportedObject {
  return {
    object: {
      apiVersion: VAP_API_VERSION,
      kind: "ValidatingAdmissionPolicyBinding",
      metadata: { name: `${base}-${plan.suffix}`, labels: { "app.kubernetes.io/managed-by": "tollgate" } },
      spec: {
        policyName: binding.policyName,
        validationActions: actionsIn(plan.mode, binding.validationActions),
        matchResources,
        ...(binding.paramRef ? { paramRef: binding.paramRef } : {}),
      },
    },
    comments: [
      plan.scope === "Cluster"
        ? `cluster-scoped objects, in tollgate's defaultMode (${config.defaultMode})`
        : plan.suffix === "default"
          ? `namespaces without ${MODE_LABEL}, in tollgate's defaultMode (${config.defaultMode})`
          : `namespaces labelled ${MODE_LABEL}=${plan.suffix}`,
    ],
  };
}

/** The exported objects as one YAML stream, each preceded by its comments. */
export function exportYaml(objects: readonly ExportedObject[]): string {
  return objects
    .map(({ object, comments }) => {
      const header = comments.map((comment) => `# ${comment}\n`).join("");
      return `---\n${header}${dump(object, { noRefs: true, lineWidth: -1 })}`;
    })
    .join("");
}
