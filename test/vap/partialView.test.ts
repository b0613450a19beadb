/**
 * The partial CEL view (src/cel/reads.ts) against converting everything: every policy of the
 * repository (test fixtures, docs, the benchmark's, the policies written inline in tests) judges
 * every object of the fixtures, and mutated copies of them, with the request converted whole, with
 * only the policy's own reads, with the reads of its whole set, and through the PolicySetJudge the
 * webhook uses (one activation and one resource match per request for the set); the verdicts must
 * be the same, message for message. The CEL corpus's expressions are held to the same on their objects.
 */
import { readdirSync, readFileSync } from "node:fs";
import { extname, join, relative } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { compileExpression, ExpressionError } from "../../src/cel/compile.js";
import { celViewOf, type Reads, unionOf, WHOLE_READS } from "../../src/cel/reads.js";
import { toCel } from "../../src/cel/values.js";
import { vapRequestOf } from "../../src/engine/prepare.js";
import { parseManifests, type LoadedInput, type SourceObject } from "../../src/input/documents.js";
import { type KubeObject, refOf } from "../../src/objects/object.js";
import {
  evaluateVap,
  PolicySetJudge,
  type VapBinding,
  type VapRequest,
  type VapVerdict,
} from "../../src/vap/evaluate.js";
import type { PolicySet } from "../../src/vap/load.js";
import { policySetOf } from "./support.js";

const ROOT = join(import.meta.dirname, "..", "..");

function filesUnder(folder: string): string[] {
  return readdirSync(join(ROOT, folder), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)))
    .sort();
}

const POLICY_KIND = /kind:\s*"?ValidatingAdmissionPolicy"?\s*$/m;

/** Every text that holds a ValidatingAdmissionPolicy, with where it came from. */
function policyTexts(): { from: string; yaml: string }[] {
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
function fixtureObjects(): KubeObject[] {
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
function randomFrom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

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
function mutated(object: KubeObject, random: () => number): KubeObject {
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
const NAMESPACES: (KubeObject | null)[] = [
  {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "vap-prod", labels: { "kubernetes.io/metadata.name": "vap-prod", env: "prod" } },
  },
  { apiVersion: "v1", kind: "Namespace", metadata: { name: "vap-dev", labels: { env: "dev" } } },
  null,
];

const bigints = (_key: string, value: unknown) => (typeof value === "bigint" ? `${value}n` : value);

const textOf = (policy: string, verdict: VapVerdict | undefined): string =>
  verdict === undefined
    ? `${policy}: -`
    : `${policy}: ${JSON.stringify([verdict.outcomes, verdict.auditAnnotations], bigints)}`;

/** verdictsOf, through the judge the webhook uses: one conversion and one activation for the set. */
function judgedBy(judge: PolicySetJudge, set: PolicySet, request: VapRequest): string {
  const verdicts = new Map<VapBinding, VapVerdict>();
  for (const index of set.policies.keys()) {
    for (const verdict of judge.verdicts(index, request)) verdicts.set(verdict.binding, verdict);
  }
  return set.bindings.map((binding) => textOf(binding.policyName, verdicts.get(binding))).join("\n");
}

/** Every outcome and audit annotation of every binding of the set, as text. */
function verdictsOf(
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

describe("the partial view against converting everything", () => {
  const sets = policyTexts()
    .map(({ from, yaml }) => ({ from, set: policySetOf(yaml).set }))
    .filter(({ set }) => set.policies.length > 0);
  const objects = fixtureObjects();
  const random = randomFrom(20);
  const pool = [...objects, ...objects.map((object) => mutated(object, random))];

  it("has the repository's policies and objects to work on", () => {
    expect(sets.reduce((sum, { set }) => sum + set.policies.length, 0)).toBeGreaterThanOrEqual(60);
    expect(objects.length).toBeGreaterThanOrEqual(300);
  });

  it("gives every policy the same verdicts on every object, CREATE and UPDATE", () => {
    const judges = new Map(sets.map(({ set }) => [set, new PolicySetJudge(set)]));
    const together = new Map(
      sets.map(({ set }) => [set, unionOf(set.policies.map((policy) => policy.reads))]),
    );
    let compared = 0;
    const differences: string[] = [];
    for (const [index, object] of pool.entries()) {
      const namespaceObject = NAMESPACES[index % NAMESPACES.length] ?? null;
      const ref = refOf(object, "vap-prod");
      const older = pool[(index * 7919) % pool.length]!;
      const requests = [
        { object, operation: "CREATE" as const },
        { object, oldObject: older.kind === object.kind ? older : object, operation: "UPDATE" as const },
      ].map((input) =>
        vapRequestOf(
          {
            ...input,
            mode: "enforce",
            source: "admission",
            namespaceObject,
            userInfo: { username: "alice", groups: ["dev"] },
          },
          ref,
        ),
      );
      for (const { from, set } of sets) {
        for (const request of requests) {
          const whole = verdictsOf(set, request, () => WHOLE_READS);
          const judged = judgedBy(judges.get(set)!, set, request);
          if (whole.includes(": threw ") || judged !== whole) {
            differences.push(`${from}, object ${index}: ${whole}\n--- judge:\n${judged}`);
          }
          // Whether a policy applies does not depend on the view.
          if (!whole.includes(": [")) continue;
          compared++;
          const own = verdictsOf(set, request, (policy) => policy.reads);
          const shared = verdictsOf(set, request, () => together.get(set)!);
          if (own !== whole || shared !== whole) {
            differences.push(
              `${from}, object ${index} (${object.kind}) ${request.attributes.operation}:\n${whole}\n--- own reads:\n${own}\n--- set reads:\n${shared}`,
            );
          }
        }
      }
    }
    expect(differences.slice(0, 3)).toEqual([]);
    expect(compared).toBeGreaterThan(10_000);
  }, 120_000);
});

describe("the CEL corpus's expressions on their objects", () => {
  const recording = JSON.parse(
    readFileSync(join(ROOT, "test", "fixtures", "cel", "apiserver.json"), "utf8"),
  ) as {
    render: string;
    results: { expression: string; object?: { [key: string]: Json } }[];
  };

  it("give the same value or error with the partial view", () => {
    let compared = 0;
    const differences: string[] = [];
    for (const [index, entry] of recording.results.entries()) {
      const rendered = recording.render.replaceAll("E", () => `(${entry.expression})`);
      let compiled;
      try {
        compiled = compileExpression(rendered, { params: false, variables: new Set() });
      } catch (error) {
        if (error instanceof ExpressionError) continue;
        throw error;
      }
      const object = {
        apiVersion: "cel.tollgate.dev/v1",
        kind: "CelCase",
        metadata: { name: `case-${index}` },
        ...entry.object,
      };
      const answer = (view: unknown) => {
        try {
          return String(
            compiled.evaluate({
              object: view,
              oldObject: null,
              request: {},
              namespaceObject: null,
              variables: {},
            }),
          );
        } catch (error) {
          return `error: ${(error as Error).message.split("\n")[0]}`;
        }
      };
      const whole = answer(toCel(object));
      const partial = answer(compiled.reads.object ? celViewOf(object, compiled.reads.object) : null);
      compared++;
      if (partial !== whole) differences.push(`${entry.expression}: ${whole} / ${partial}`);
    }
    expect(differences).toEqual([]);
    expect(compared).toBeGreaterThan(1000);
  });
});
