import type {
  V1ParamKind,
  V1ValidatingAdmissionPolicy,
  V1ValidatingAdmissionPolicyBinding,
} from "@kubernetes/client-node";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import {
  type InputError,
  type LoadedInput,
  lineOf,
  loadManifests,
  parseManifests,
  type SourceObject,
} from "../input/documents.js";
import { kindInGroup, groupOf } from "../objects/kinds.js";
import { isRecord, type KubeObject } from "../objects/object.js";
import { type CompiledVap, compileVap, type Locate, PolicyError } from "./compile.js";
import type { ParamSource, ValidationAction, VapBinding } from "./evaluate.js";

export const VAP_API_VERSION = "admissionregistration.k8s.io/v1";
const POLICY_KIND = "ValidatingAdmissionPolicy";
const BINDING_KIND = "ValidatingAdmissionPolicyBinding";
const ACTIONS: readonly string[] = ["Deny", "Warn", "Audit"];

/** The policies, bindings and param objects read from `--policy` paths or the config's `policies:`. */
export interface PolicySet {
  policies: readonly CompiledVap[];
  /** Every binding, the implicit `[Deny]` one of a policy without any included. */
  bindings: readonly VapBinding[];
  params: ParamSource;
  /** Policies that had no binding in the files and were bound to everything with `[Deny]`. */
  implicitlyBound: readonly string[];
}

export const EMPTY_POLICY_SET: PolicySet = {
  policies: [],
  bindings: [],
  params: { namespaced: () => undefined, get: () => undefined, list: () => [] },
  implicitlyBound: [],
};

/** Kinds whose scope tollgate knows although its kinds table leaves them out (they carry no rules). */
const PARAM_KINDS_NAMESPACED: Readonly<Record<string, boolean>> = { ConfigMap: true, Secret: true };

/** Param objects from the files, by kind; a namespaced one without a namespace lives in `default`. */
export function paramSourceOf(objects: readonly KubeObject[]): ParamSource {
  const key = (kind: V1ParamKind) => `${kind.apiVersion ?? ""}/${kind.kind ?? ""}`;
  const byKind = new Map<string, KubeObject[]>();
  for (const object of objects) {
    const kind = key({ apiVersion: String(object.apiVersion), kind: String(object.kind) });
    const list = byKind.get(kind) ?? [];
    list.push(object);
    byKind.set(kind, list);
  }
  const namespaceOf = (object: KubeObject) => {
    const metadata = isRecord(object.metadata) ? object.metadata : {};
    return typeof metadata.namespace === "string" ? metadata.namespace : undefined;
  };
  const namespaced = (kind: V1ParamKind): boolean | undefined => {
    const known =
      PARAM_KINDS_NAMESPACED[kind.kind ?? ""] ??
      kindInGroup(groupOf(kind.apiVersion ?? ""), kind.kind ?? "")?.namespaced;
    if (known !== undefined) return known;
    const loaded = byKind.get(key(kind));
    return loaded === undefined ? undefined : loaded.some((object) => namespaceOf(object) !== undefined);
  };
  const inNamespace = (kind: V1ParamKind, namespace: string) => {
    const isNamespaced = namespaced(kind) === true;
    return (byKind.get(key(kind)) ?? []).filter((object) =>
      isNamespaced ? (namespaceOf(object) ?? "default") === namespace : true,
    );
  };
  return {
    namespaced,
    get: (kind, namespace, name) =>
      inNamespace(kind, namespace).find(
        (object) => isRecord(object.metadata) && object.metadata.name === name,
      ),
    list: (kind, namespace) => inNamespace(kind, namespace),
  };
}

function locator(source: SourceObject): Locate {
  return (field) => ({ file: source.file, line: lineOf(source, field) });
}

function bindingOf(source: SourceObject): VapBinding {
  const binding = source.object as V1ValidatingAdmissionPolicyBinding;
  const name = binding.metadata?.name;
  const fail = (field: string, detail: string): never => {
    throw new PolicyError(
      locator(source)(field),
      `ValidatingAdmissionPolicyBinding "${name ?? ""}"`,
      field,
      detail,
    );
  };
  if (typeof name !== "string" || name === "") fail("metadata.name", "a binding needs a name");
  const spec = binding.spec;
  if (spec === undefined || spec === null || typeof spec !== "object") return fail("spec", "missing");
  const policyName: unknown = spec.policyName;
  if (typeof policyName !== "string" || policyName === "") {
    return fail("spec.policyName", "required: the ValidatingAdmissionPolicy this binding applies");
  }
  const actions: unknown = spec.validationActions;
  if (!Array.isArray(actions) || actions.length === 0) {
    return fail("spec.validationActions", "required: one or more of Deny, Warn, Audit");
  }
  for (const [index, action] of actions.entries()) {
    if (!ACTIONS.includes(action))
      fail(`spec.validationActions[${index}]`, `must be Deny, Warn or Audit, not ${JSON.stringify(action)}`);
  }
  if (new Set(actions).size !== actions.length) fail("spec.validationActions", "an action is listed twice");
  if (actions.includes("Deny") && actions.includes("Warn")) {
    fail("spec.validationActions", "Deny and Warn may not be used together (Deny already shows the message)");
  }
  const ref = spec.paramRef ?? undefined;
  if (ref !== undefined) {
    if (ref.name !== undefined && ref.selector !== undefined)
      fail("spec.paramRef", "name and selector are mutually exclusive");
    if (ref.name === undefined && ref.selector === undefined)
      fail("spec.paramRef", "one of name or selector is required");
    if (
      ref.parameterNotFoundAction !== undefined &&
      !["Allow", "Deny"].includes(ref.parameterNotFoundAction)
    ) {
      fail(
        "spec.paramRef.parameterNotFoundAction",
        `must be Allow or Deny, not ${JSON.stringify(ref.parameterNotFoundAction)}`,
      );
    }
  }
  return {
    name: name!,
    policyName,
    validationActions: actions as ValidationAction[],
    matchResources: spec.matchResources,
    paramRef: ref,
  };
}

/**
 * Sorts objects read from policy files into policies, bindings and params, compiling every policy.
 * Each problem is one input error naming the file and line, the policy and the field; a policy or
 * binding with an error is left out, nothing else is.
 */
export function buildPolicySet(
  sources: readonly SourceObject[],
  reservedIds: ReadonlySet<string>,
): {
  set: PolicySet;
  errors: InputError[];
} {
  const errors: InputError[] = [];
  const policies = new Map<string, CompiledVap>();
  const bindings: VapBinding[] = [];
  const bindingSources = new Map<VapBinding, SourceObject>();
  const params: KubeObject[] = [];
  const report = (error: unknown) => {
    if (!(error instanceof PolicyError)) throw error;
    errors.push({ file: error.location.file, line: error.location.line, message: error.detail });
  };
  for (const source of sources) {
    const { object } = source;
    const kind = object.kind;
    if (kind !== POLICY_KIND && kind !== BINDING_KIND) {
      params.push(object);
      continue;
    }
    if (object.apiVersion !== VAP_API_VERSION) {
      errors.push({
        file: source.file,
        line: source.line,
        message: `${kind}: apiVersion must be ${VAP_API_VERSION}, not ${JSON.stringify(object.apiVersion)}`,
      });
      continue;
    }
    try {
      if (kind === BINDING_KIND) {
        const binding = bindingOf(source);
        bindings.push(binding);
        bindingSources.set(binding, source);
        continue;
      }
      const locate = locator(source);
      const policy = compileVap(object as V1ValidatingAdmissionPolicy, locate);
      const label = `ValidatingAdmissionPolicy "${policy.name}"`;
      if (reservedIds.has(policy.name)) {
        throw new PolicyError(
          locate("metadata.name"),
          label,
          "metadata.name",
          "is the id of a built-in rule; rename the policy",
        );
      }
      const first = policies.get(policy.name);
      if (first) {
        const at = `${first.location.file}${first.location.line === null ? "" : `:${first.location.line}`}`;
        throw new PolicyError(
          locate("metadata.name"),
          label,
          "metadata.name",
          `defined twice (first at ${at})`,
        );
      }
      policies.set(policy.name, policy);
    } catch (error) {
      report(error);
    }
  }
  const kept: VapBinding[] = [];
  for (const binding of bindings) {
    if (policies.has(binding.policyName)) {
      kept.push(binding);
      continue;
    }
    const source = bindingSources.get(binding)!;
    errors.push({
      file: source.file,
      line: lineOf(source, "spec.policyName"),
      message: `ValidatingAdmissionPolicyBinding "${binding.name}": spec.policyName: no ValidatingAdmissionPolicy "${binding.policyName}" in the policy files`,
    });
  }
  const implicitlyBound: string[] = [];
  for (const policy of policies.values()) {
    if (kept.some((binding) => binding.policyName === policy.name)) continue;
    implicitlyBound.push(policy.name);
    kept.push({
      name: undefined,
      policyName: policy.name,
      validationActions: ["Deny"],
      matchResources: undefined,
      paramRef: undefined,
    });
  }
  return {
    set: { policies: [...policies.values()], bindings: kept, params: paramSourceOf(params), implicitlyBound },
    errors,
  };
}

/** The largest policy file read: policies are small, and a reload must not read a disk image. */
const MAX_POLICY_FILE_BYTES = 4 * 1024 * 1024;

/**
 * The files a policy path names, synchronously: a file, or the YAML and JSON files below a folder
 * (hidden entries skipped, in name order). For the server's reload, which applies a config at once.
 */
function policyFilesSync(path: string, errors: InputError[], seen: Set<string>): string[] {
  let info;
  try {
    info = statSync(path);
  } catch (error) {
    errors.push({
      file: path,
      line: null,
      message: `cannot read (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    });
    return [];
  }
  const key = `${info.dev}:${info.ino}`;
  if (seen.has(key)) return [];
  seen.add(key);
  if (!info.isDirectory()) return [path];
  return readdirSync(path)
    .filter((name) => !name.startsWith("."))
    .sort()
    .flatMap((name) => {
      const child = join(path, name);
      const isFolder = statSync(child, { throwIfNoEntry: false })?.isDirectory() === true;
      return isFolder || [".yaml", ".yml", ".json"].includes(extname(name).toLowerCase())
        ? policyFilesSync(child, errors, seen)
        : [];
    });
}

/** The files that policy paths name, as `serve` reads them (a folder's YAML and JSON files, in name order). */
export function policyFilePaths(paths: readonly string[]): { files: string[]; errors: InputError[] } {
  const errors: InputError[] = [];
  const seen = new Set<string>();
  const files = paths.flatMap((path) => policyFilesSync(path, errors, seen));
  return { files, errors };
}

/** loadPolicySet, synchronously (the server's start-up and config reload). */
export function loadPolicySetSync(
  paths: readonly string[],
  reservedIds: ReadonlySet<string>,
): { set: PolicySet; errors: InputError[]; texts: { path: string; content: string }[] } {
  const loaded: LoadedInput<SourceObject> = { objects: [], errors: [], files: 0, documents: 0 };
  const texts: { path: string; content: string }[] = [];
  const listed = policyFilePaths(paths);
  loaded.errors.push(...listed.errors);
  for (const file of listed.files) {
    let text: string;
    try {
      if (statSync(file).size > MAX_POLICY_FILE_BYTES) {
        loaded.errors.push({
          file,
          line: null,
          message: `larger than ${MAX_POLICY_FILE_BYTES / (1024 * 1024)} MiB; not a policy file`,
        });
        continue;
      }
      text = readFileSync(file, "utf8");
    } catch (error) {
      loaded.errors.push({
        file,
        line: null,
        message: `cannot read (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      });
      continue;
    }
    loaded.files++;
    texts.push({ path: file, content: text });
    parseManifests(text, file, loaded, (source) => source);
  }
  const built = buildPolicySet(loaded.objects, reservedIds);
  return { set: built.set, errors: [...loaded.errors, ...built.errors], texts };
}

/** Reads policy files and folders (`--policy`, the config's `policies:`). */
export async function loadPolicySet(
  paths: readonly string[],
  reservedIds: ReadonlySet<string>,
): Promise<{ set: PolicySet; errors: InputError[] }> {
  const loaded = await loadManifests(
    paths,
    () => Promise.reject(new Error("policies cannot come from stdin")),
    (source) => source,
  );
  const built = buildPolicySet(loaded.objects, reservedIds);
  return { set: built.set, errors: [...loaded.errors, ...built.errors] };
}
