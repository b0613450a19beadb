/**
 * What the differential tests of policies judge: every ValidatingAdmissionPolicy of the repository
 * (test fixtures, docs, the benchmark's, the policies written inline in tests), every Kubernetes
 * object of the fixtures, mutated copies of them, and the Namespaces a request may come from.
 */
import { readdirSync, readFileSync } from "node:fs";
import { extname, join, relative } from "node:path";
import ts from "typescript";
import { parseManifests, type LoadedInput, type SourceObject } from "../../src/input/documents.js";
import type { KubeObject } from "../../src/objects/object.js";
import type { Reads } from "../../src/cel/reads.js";
import { evaluateVap, type VapRequest, type VapVerdict } from "../../src/vap/evaluate.js";
import type { PolicySet } from "../../src/vap/load.js";

export const ROOT = join(import.meta.dirname, "..", "..");

export function filesUnder(folder: string): string[] {
  return readdirSync(join(ROOT, folder), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)))
    .sort();
}

const POLICY_KIND = /kind:\s*"?ValidatingAdmissionPolicy"?\s*$/m;

/** Every text that holds a ValidatingAdmissionPolicy, with where it came from. */
export function policyTexts(): { from: string; yaml: string }[] {
  const texts: { from: string; yaml: string }[] = [];
  for (const file of [...filesUnder("test"), ...filesUnder("docs"), ...filesUnder("scripts/bench/vaps")]) {
    const text = readFileSync(join(ROOT, file), "utf8");
    if (!POLICY_KIND.test(text)) continue;
    const extension = extname(file);
    if (extension === ".yaml" || extension === ".yml") texts.push({ from: file, yaml: text });
    else if (extension === ".md") {
      for (const [index, block] of [...text.matchAll(/```ya?ml\n([\s\S]*?)```/g)].entries()) {
        if (POLICY_KIND.test(block[1]!)) texts.push({ from: `${file} block ${index}`, yaml: block[1]! });
      }
    } else if (extension === ".ts" && file !== relative(ROOT, import.meta.filename)) {
      // Template literals without substitutions, as the TypeScript parser reads them.
      const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest);
      const visit = (node: ts.Node): void => {
        if (ts.isNoSubstitutionTemplateLiteral(node) && POLICY_KIND.test(node.text)) {
          texts.push({
            from: `${file}:${source.getLineAndCharacterOfPosition(node.pos).line + 1}`,
            yaml: node.text,
          });
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
  }
  return texts;
}

function isObject(value: unknown): value is KubeObject {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    typeof (value as KubeObject).kind === "string" &&
    typeof (value as KubeObject).apiVersion === "string"
  );
}

/** Every Kubernetes object of the fixtures: manifests, and the objects of recorded reviews. */
export function fixtureObjects(): KubeObject[] {
  const objects = new Map<string, KubeObject>();
  const add = (value: unknown) => {
    if (isObject(value)) objects.set(JSON.stringify(value), value);
  };
  for (const file of filesUnder("test/fixtures")) {
    const extension = extname(file);
    if (extension !== ".yaml" && extension !== ".yml" && extension !== ".json") continue;
    const text = readFileSync(join(ROOT, file), "utf8");
    if (extension === ".json") {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        continue;
      }
      const review = value as { kind?: unknown; request?: { object?: unknown; oldObject?: unknown } };
      if (review.kind === "AdmissionReview") {
        add(review.request?.object);
        add(review.request?.oldObject);
      } else add(value);
      continue;
    }
    const loaded: LoadedInput<SourceObject> = { objects: [], errors: [], files: 1, documents: 0 };
    parseManifests(text, file, loaded, (source) => source);
    for (const source of loaded.objects) add(source.object);
  }
  return [...objects.values()];
}

/** mulberry32: the same mutations on every run. */
export function randomFrom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Every map and list inside a value, with the value itself. */
function containersOf(value: Json): (Json[] | { [key: string]: Json })[] {
  const found: (Json[] | { [key: string]: Json })[] = [];
  const walk = (at: Json) => {
    if (at === null || typeof at !== "object") return;
    found.push(at);
    for (const item of Array.isArray(at) ? at : Object.values(at)) walk(item);
  };
  walk(value);
  return found;
}

const REPLACEMENTS: (() => Json)[] = [
  () => null,
  () => 0,
  () => 3,
  () => -7,
  () => 1.5,
  () => 2 ** 60,
  () => "",
  () => "x",
  () => "registry.example/app:latest",
  () => true,
  () => false,
  () => [],
  () => ({}),
  () => ["a", "b"],
  () => ({ team: "a", "example.com/owner": "b", memory: "8Gi" }),
  () => [{ name: "c", image: "busybox", ports: [{ containerPort: 80 }] }],
];

/** A copy of the object with a few fields removed, replaced (by other types too) or added. */
export function mutated(object: KubeObject, random: () => number): KubeObject {
  const copy = structuredClone(object) as { [key: string]: Json };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const changes = 1 + Math.floor(random() * 4);
  for (let change = 0; change < changes; change++) {
    // Keep kind and apiVersion, so that the request still says what the object is.
    const holders = containersOf(copy);
    const holder = pick(holders);
    if (Array.isArray(holder)) {
      if (holder.length === 0 || random() < 0.3) holder.push(pick(REPLACEMENTS)());
      else if (random() < 0.5) holder.splice(Math.floor(random() * holder.length), 1);
      else holder[Math.floor(random() * holder.length)] = pick(REPLACEMENTS)();
      continue;
    }
    const keys = Object.keys(holder).filter(
      (key) => holder !== copy || (key !== "kind" && key !== "apiVersion"),
    );
    const roll = random();
    if (keys.length === 0 || roll < 0.25)
      holder[pick(["extra", "team", "hostNetwork", "labels", "x"])] = pick(REPLACEMENTS)();
    else if (roll < 0.5) delete holder[pick(keys)];
    else if (roll < 0.55)
      Object.defineProperty(holder, "__proto__", {
        value: 1,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    else holder[pick(keys)] = pick(REPLACEMENTS)();
  }
  return copy as KubeObject;
}

/** The request's Namespace: two known ones, and one whose labels are not known. */
export const NAMESPACES: (KubeObject | null)[] = [
  {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "vap-prod", labels: { "kubernetes.io/metadata.name": "vap-prod", env: "prod" } },
  },
  { apiVersion: "v1", kind: "Namespace", metadata: { name: "vap-dev", labels: { env: "dev" } } },
  null,
];

/** The CEL corpus as the apiserver answered it: each expression, rendered as recorded, on its object. */
export function celCorpusCases(): {
  expression: string;
  rendered: string;
  object: { [key: string]: Json };
}[] {
  const recording = JSON.parse(
    readFileSync(join(ROOT, "test", "fixtures", "cel", "apiserver.json"), "utf8"),
  ) as {
    render: string;
    results: { expression: string; object?: { [key: string]: Json } }[];
  };
  return recording.results.map((entry, index) => ({
    expression: entry.expression,
    rendered: recording.render.replaceAll("E", () => `(${entry.expression})`),
    object: {
      apiVersion: "cel.tollgate.dev/v1",
      kind: "CelCase",
      metadata: { name: `case-${index}` },
      ...entry.object,
    },
  }));
}

const bigints = (_key: string, value: unknown) => (typeof value === "bigint" ? `${value}n` : value);

export const textOf = (policy: string, verdict: VapVerdict | undefined): string =>
  verdict === undefined
    ? `${policy}: -`
    : `${policy}: ${JSON.stringify([verdict.outcomes, verdict.auditAnnotations], bigints)}`;

/** Every outcome and audit annotation of every binding of the set, as text. */
export function verdictsOf(
  set: PolicySet,
  request: VapRequest,
  reads: (policy: PolicySet["policies"][number]) => Reads,
): string {
  return set.bindings
    .map((binding) => {
      const policy = set.policies.find((candidate) => candidate.name === binding.policyName)!;
      try {
        return textOf(policy.name, evaluateVap(policy, binding, request, set.params, reads(policy)));
      } catch (error) {
        return `${policy.name}: threw ${String(error)}`;
      }
    })
    .join("\n");
}
