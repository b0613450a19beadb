import fc from "fast-check";
import { compliantPod, review, rootPod } from "../support/reviews.js";

/** Objects of every kind tollgate reads, well-formed, for the mutations to start from. */
export function seedObjects(): Record<string, unknown>[] {
  const podSpec = (compliantPod().spec ?? {}) as Record<string, unknown>;
  return [
    rootPod(),
    compliantPod(),
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "api", namespace: "team-a" },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: "api" } },
        template: { metadata: {}, spec: podSpec },
      },
    },
    {
      apiVersion: "batch/v1",
      kind: "CronJob",
      metadata: { name: "nightly", namespace: "team-a" },
      spec: { schedule: "0 0 * * *", jobTemplate: { spec: { template: { spec: podSpec } } } },
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: "ops" },
      rules: [{ apiGroups: [""], resources: ["pods", "secrets"], verbs: ["get", "*"] }],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "ops" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
      subjects: [{ kind: "ServiceAccount", name: "default", namespace: "team-a" }],
    },
    {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "team-a", labels: { "tollgate.dev/mode": "warn" } },
    },
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "web", namespace: "team-a" } },
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "db", namespace: "team-a" },
      data: { password: "aHVudGVyMg==" },
    },
    { apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w" }, spec: { size: 3 } },
  ];
}

/** Nested arrays `depth` deep, built without recursion. */
export function deepArrays(depth: number): unknown[] {
  const root: unknown[] = [];
  let current = root;
  for (let i = 1; i < depth; i++) {
    const next: unknown[] = [];
    current.push(next);
    current = next;
  }
  return root;
}

/** Nested objects `depth` deep, built without recursion. */
export function deepObjects(depth: number, key = "a"): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  let current = root;
  for (let i = 1; i < depth; i++) {
    const next: Record<string, unknown> = {};
    current[key] = next;
    current = next;
  }
  return root;
}

const unicode = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom("\u0000", "\ud800", "💥".repeat(300), "a".repeat(70_000), "ＡＬＬ", "ALL\u200b", "-0"),
);

/** Values of the wrong type, or the right type with hostile content, for any field. */
export const weirdValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 2, arbitrary: fc.constantFrom(null, true, false, 0, -0, -1, 1e308, 2 ** 53 + 1, "", [], {}) },
  { weight: 2, arbitrary: unicode },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 1, max: 20_000 }).map((depth) => deepArrays(depth)),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 1, max: 20_000 }).map((depth) => deepObjects(depth)),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 100, max: 3_000 }), fc.jsonValue({ maxDepth: 2 }))
      .map(([length, item]) => Array.from({ length }, () => structuredClone(item))),
  },
  {
    weight: 1,
    // Parsed anew each time: a shared instance would let later mutations build cycles.
    arbitrary: fc
      .constantFrom(
        '{"__proto__": {"polluted": true}, "constructor": {"prototype": {"x": 1}}}',
        '{"toString": "x", "valueOf": 1, "hasOwnProperty": null}',
        "[null, null, null]",
        '[{"name": null}, {"name": 7, "securityContext": []}, "container"]',
      )
      .map((text) => JSON.parse(text) as unknown),
  },
);

/** Every path to a value inside `root`, at most `maxDepth` deep and `limit` many. */
export function pathsOf(root: unknown, maxDepth = 12, limit = 400): (string | number)[][] {
  const paths: (string | number)[][] = [[]];
  const stack: { value: unknown; path: (string | number)[] }[] = [{ value: root, path: [] }];
  while (stack.length > 0 && paths.length < limit) {
    const { value, path } = stack.pop()!;
    if (path.length >= maxDepth || typeof value !== "object" || value === null) continue;
    const entries: [string | number, unknown][] = Array.isArray(value)
      ? value.slice(0, 20).map((v, i) => [i, v])
      : Object.entries(value).slice(0, 40);
    for (const [key, child] of entries) {
      const childPath = [...path, key];
      paths.push(childPath);
      stack.push({ value: child, path: childPath });
    }
  }
  return paths;
}

export type Mutation =
  | { op: "set"; at: number; value: unknown }
  | { op: "delete"; at: number }
  | { op: "wrap"; at: number }
  | { op: "duplicate"; at: number; value: unknown };

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant("set" as const), at: fc.nat(), value: weirdValue }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("delete" as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("wrap" as const), at: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant("duplicate" as const), at: fc.nat(), value: weirdValue }),
  },
);

/** The key that marks a duplicate of its sibling key in the JSON text (see `toJsonText`). */
export const DUPLICATE_PREFIX = "\u0001dup\u0001";

function parentAndKey(root: Record<string, unknown>, path: (string | number)[]) {
  let parent: unknown = root;
  for (const key of path.slice(0, -1)) parent = (parent as Record<string | number, unknown>)[key];
  return { parent: parent as Record<string | number, unknown>, key: path.at(-1)! };
}

/** Apply mutations in order; each picks its path among the current ones by index. */
export function mutate(
  root: Record<string, unknown>,
  mutations: readonly Mutation[],
): Record<string, unknown> {
  for (const m of mutations) {
    const paths = pathsOf(root).filter((p) => p.length > 0);
    if (paths.length === 0) break;
    const path = paths[m.at % paths.length]!;
    const { parent, key } = parentAndKey(root, path);
    if (typeof parent !== "object" || parent === null) continue;
    switch (m.op) {
      case "set":
        parent[key] = m.value;
        break;
      case "delete":
        if (Array.isArray(parent) && typeof key === "number") parent.splice(key, 1);
        else delete parent[key];
        break;
      case "wrap":
        parent[key] = [parent[key]];
        break;
      case "duplicate":
        if (!Array.isArray(parent) && typeof key === "string") parent[`${DUPLICATE_PREFIX}${key}`] = m.value;
        break;
    }
  }
  return root;
}

/** A review for one of the seed objects, then mutated anywhere, envelope included. */
export const mutatedReview: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(
    fc.nat(),
    fc.constantFrom("CREATE", "UPDATE", "DELETE", "CONNECT"),
    fc.boolean(),
    fc.array(mutation, { maxLength: 6 }),
  )
  .map(([pick, operation, withOld, mutations]) => {
    const seeds = seedObjects();
    const object = seeds[pick % seeds.length]!;
    const old = withOld ? seedObjects()[pick % seeds.length]! : null;
    const body = review(object, {
      uid: `fuzz-${pick}`,
      operation: operation as "CREATE",
      oldObject: old,
    }) as unknown as Record<string, unknown>;
    return mutate(body, mutations);
  });

/** Only the object is mutated; the envelope stays valid, so the answer must be a 200. */
export const reviewWithMutatedObject: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(fc.nat(), fc.array(mutation, { minLength: 1, maxLength: 6 }))
  .map(([pick, mutations]) => {
    const seeds = seedObjects();
    const seed = seeds[pick % seeds.length]!;
    const body = review(seed, { uid: `fuzz-object-${pick}` }) as unknown as { request: { object: unknown } };
    body.request.object = mutate(structuredClone(seed), mutations);
    return body as unknown as Record<string, unknown>;
  });

/**
 * JSON text for a value: duplicate-marked keys become real duplicate keys, and deep nesting
 * (which JSON.stringify cannot serialise past a few thousand levels) is written out flat.
 */
export function toJsonText(value: unknown): string {
  const deep = new Map<string, string>();
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (Array.isArray(v) && v.length === 1 && Array.isArray(v[0]) && depthOfArrays(v) > 500) {
      const depth = depthOfArrays(v);
      const marker = `\u0002deep${deep.size}\u0002`;
      deep.set(marker, `${"[".repeat(depth)}${"]".repeat(depth)}`);
      return marker;
    }
    if (isObject(v) && depthOfObjects(v) > 500) {
      const depth = depthOfObjects(v);
      const marker = `\u0002deep${deep.size}\u0002`;
      deep.set(marker, `${'{"a":'.repeat(depth - 1)}{}${"}".repeat(depth - 1)}`);
      return marker;
    }
    return v;
  });
  return text
    .replace(/"\\u0002deep\d+\\u0002"/g, (marker) => deep.get(JSON.parse(marker) as string) ?? "null")
    .replaceAll(JSON.stringify(DUPLICATE_PREFIX).slice(1, -1), "");
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function depthOfArrays(v: unknown[]): number {
  let depth = 0;
  let current: unknown = v;
  while (Array.isArray(current) && depth < 1_000_000) {
    depth++;
    current = current[0];
  }
  return depth;
}

function depthOfObjects(v: Record<string, unknown>): number {
  let depth = 0;
  let current: unknown = v;
  while (isObject(current) && Object.keys(current).length === 1 && depth < 1_000_000) {
    depth++;
    current = Object.values(current)[0];
  }
  return depth;
}
