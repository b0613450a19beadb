import { parseManifests, type LoadedInput, type SourceObject } from "../../src/input/documents.js";
import { buildPolicySet, type PolicySet } from "../../src/vap/load.js";
import type { InputError } from "../../src/input/documents.js";
import type { RequestAttributes } from "../../src/vap/match.js";
import type { VapRequest } from "../../src/vap/evaluate.js";

/** Policies, bindings and params from YAML text, through the same reader `--policy` uses. */
export function policySetOf(
  yaml: string,
  reserved: readonly string[] = [],
): { set: PolicySet; errors: InputError[] } {
  const loaded: LoadedInput<SourceObject> = { objects: [], errors: [], files: 1, documents: 0 };
  parseManifests(yaml, "policies.yaml", loaded, (source) => source);
  const built = buildPolicySet(loaded.objects, new Set(reserved));
  return { set: built.set, errors: [...loaded.errors, ...built.errors] };
}

type Json = Record<string, unknown>;

function labelsOf(object: Json | null): Record<string, string> | undefined {
  const metadata = object?.metadata as { labels?: Record<string, string> } | undefined;
  return object === null ? undefined : (metadata?.labels ?? {});
}

/** A CREATE (or UPDATE, with `oldObject`) of a namespaced Deployment or Pod by alice. */
export function requestFor(
  object: Json | null,
  options: {
    oldObject?: Json;
    operation?: RequestAttributes["operation"];
    namespaceLabels?: Record<string, string>;
  } = {},
): VapRequest {
  const subject = object ?? options.oldObject ?? {};
  const kind = String(subject.kind);
  const isPod = kind === "Pod";
  const metadata = (subject.metadata ?? {}) as { name?: string; namespace?: string };
  const operation = options.operation ?? (options.oldObject ? "UPDATE" : "CREATE");
  const group = isPod ? "" : "apps";
  const resource = isPod ? "pods" : `${kind.toLowerCase()}s`;
  const namespace = metadata.namespace ?? "team-a";
  const attributes: RequestAttributes = {
    operation,
    kind: { group, version: "v1", kind },
    resource: { group, version: "v1", resource },
    subResource: "",
    namespace,
    name: metadata.name ?? "",
    objectLabels: labelsOf(object),
    oldObjectLabels: options.oldObject ? labelsOf(options.oldObject) : undefined,
    namespaceLabels: options.namespaceLabels ?? {},
  };
  return {
    attributes,
    object,
    oldObject: options.oldObject ?? null,
    request: {
      kind: attributes.kind,
      resource: attributes.resource,
      subResource: "",
      name: attributes.name,
      namespace,
      operation,
      userInfo: { username: "alice", groups: ["system:authenticated"] },
      dryRun: false,
    },
    namespaceObject: { metadata: { name: namespace, labels: options.namespaceLabels ?? {} } },
  };
}
