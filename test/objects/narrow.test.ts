import { describe, expect, it } from "vitest";
import { is, listOf, shape, str, stringMap, strings } from "../../src/objects/narrow.js";
import {
  binding,
  container,
  metadata,
  namespace,
  podSpec,
  policyRules,
  secret,
  serviceAccount,
} from "../../src/objects/shapes.js";

const hostPort = (value: unknown) => (typeof value === "number" ? value : undefined);
const port = shape<{ hostPort?: number; name?: string }>(
  { hostPort, name: str },
  (v) => is(hostPort, v.hostPort) && is(str, v.name),
);
const ports = listOf(port, Object.freeze({}));

describe("shape", () => {
  it("returns the value itself, not a copy, when every declared field has its type", () => {
    const raw = { hostPort: 8080, name: "http", protocol: "TCP" };
    expect(port(raw)).toBe(raw);
  });

  it("copies only the declared fields, narrowed, when one has the wrong type; the value is left as it was", () => {
    const raw = { name: "http", hostPort: "8080", protocol: "TCP" };
    const narrowed = port(raw);
    expect(narrowed).not.toBe(raw);
    expect(narrowed).toStrictEqual({ hostPort: undefined, name: "http" });
    expect(raw).toStrictEqual({ name: "http", hostPort: "8080", protocol: "TCP" });
  });

  it("reads a value that is not an object, or is a list, as absent", () => {
    for (const value of ["x", 5, null, undefined, true, [], [{ hostPort: 1 }]])
      expect(port(value)).toBeUndefined();
  });
});

describe("listOf", () => {
  it("returns the list itself when every entry has its shape", () => {
    const raw = [{ hostPort: 1 }, { name: "b" }];
    expect(ports(raw)).toBe(raw);
  });

  it("reads an entry that is not an object as one with no fields, so the others keep their index", () => {
    const raw = [5, { hostPort: 1 }, "x", { hostPort: "2" }];
    expect(ports(raw)).toStrictEqual([{}, { hostPort: 1 }, {}, { hostPort: undefined, name: undefined }]);
    expect(raw).toStrictEqual([5, { hostPort: 1 }, "x", { hostPort: "2" }]);
  });

  it("reads a value that is not a list as absent", () => {
    for (const value of [5, "x", {}, { 0: { hostPort: 1 }, length: 1 }, null])
      expect(ports(value)).toBeUndefined();
  });
});

describe("strings and stringMap", () => {
  it("keep only the strings, and return the value itself when it holds nothing else", () => {
    const names = ["ALL", "NET_RAW"];
    expect(strings(names)).toBe(names);
    expect(strings([5, "ALL", null, ["x"]])).toStrictEqual(["ALL"]);
    expect(strings("ALL")).toBeUndefined();
    const labels = { app: "web" };
    expect(stringMap(labels)).toBe(labels);
    expect(stringMap({ app: "web", replicas: 3, tier: null })).toStrictEqual({ app: "web" });
    expect(stringMap(["app=web"])).toBeUndefined();
  });

  it("keeps a __proto__ key a key when it copies", () => {
    const labels = JSON.parse('{"__proto__": "x", "n": 1}') as unknown;
    const narrowed = stringMap(labels)!;
    expect(Object.keys(narrowed)).toEqual(["__proto__"]);
    expect(Object.getPrototypeOf(narrowed)).toBe(Object.prototype);
  });
});

describe("the Kubernetes shapes", () => {
  it("leave a well-formed pod spec and container as they are: nothing is copied", () => {
    const web = {
      name: "web",
      image: "nginx:1.27",
      ports: [{ containerPort: 80 }],
      env: [{ name: "A", value: "b" }],
      resources: { requests: { cpu: "100m" } },
      securityContext: {
        runAsNonRoot: true,
        capabilities: { drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" },
      },
      livenessProbe: { httpGet: { port: 80 } },
    };
    const spec = {
      containers: [web],
      volumes: [{ name: "tmp", emptyDir: {} }],
      securityContext: { runAsUser: 10001, sysctls: [{ name: "net.ipv4.ping_group_range", value: "0 1" }] },
      nodeSelector: { pool: "a" },
      os: { name: "linux" },
    };
    expect(podSpec(spec)).toBe(spec);
    expect(container(web)).toBe(web);
  });

  it("narrow a malformed container down to what its types say, deep inside", () => {
    const narrowed = container({
      name: 7,
      image: ["nginx"],
      ports: 5,
      env: {},
      securityContext: {
        privileged: "true",
        capabilities: { drop: "ALL", add: [5, "SYS_ADMIN"] },
        seccompProfile: "x",
      },
    });
    expect(narrowed).toStrictEqual({
      name: undefined,
      image: undefined,
      securityContext: {
        privileged: undefined,
        allowPrivilegeEscalation: undefined,
        readOnlyRootFilesystem: undefined,
        runAsNonRoot: undefined,
        runAsUser: undefined,
        procMount: undefined,
        capabilities: { add: ["SYS_ADMIN"], drop: undefined },
        seccompProfile: undefined,
        appArmorProfile: undefined,
        seLinuxOptions: undefined,
      },
      resources: undefined,
      ports: undefined,
      env: undefined,
      livenessProbe: undefined,
      readinessProbe: undefined,
    });
  });

  it("keep the fields a rule judges whatever their type as they came", () => {
    const securityContext = { runAsNonRoot: "yes", procMount: 5, seLinuxOptions: { user: 7 } };
    expect(container({ securityContext, livenessProbe: "x" })).toMatchObject({
      securityContext: { runAsNonRoot: "yes", procMount: 5, seLinuxOptions: { user: 7 } },
      livenessProbe: "x",
    });
    expect(policyRules([{ verbs: ["get"], resourceNames: [5] }])).toStrictEqual([
      { verbs: ["get"], resourceNames: [5] },
    ]);
  });
});

/** Values of every JSON type; each field's narrower takes some of them as of the wrong type. */
const CANDIDATES: unknown[] = ["x", 5, true, null, {}, [], [5], ["x"], { a: 1 }];

type AnyNarrow = ((value: unknown) => unknown) & { fields?: Record<string, AnyNarrow>; entry?: AnyNarrow };

/** For every field under `narrow`, at any depth: the root value with that field of the wrong type. */
function malformed(narrow: AnyNarrow, wrap: (value: unknown) => unknown, path: string): [string, unknown][] {
  if (narrow.entry) return malformed(narrow.entry, (value) => wrap([value]), `${path}[]`);
  const cases: [string, unknown][] = [];
  for (const [key, field] of Object.entries(narrow.fields ?? {})) {
    const at = (value: unknown) => wrap({ [key]: value });
    for (const wrong of CANDIDATES) {
      if (field(wrong) !== wrong) cases.push([`${path}.${key} = ${JSON.stringify(wrong)}`, at(wrong)]);
    }
    cases.push(...malformed(field, at, `${path}.${key}`));
  }
  return cases;
}

describe("every shape's fast test (holds)", () => {
  const roots: [string, AnyNarrow][] = [
    ["podSpec", podSpec],
    ["container", container],
    ["metadata", metadata],
    ["policyRules", policyRules],
    ["binding", binding],
    ["namespace", namespace],
    ["serviceAccount", serviceAccount],
    ["secret", secret],
  ];

  it.each(roots)(
    "of %s catches a field of the wrong type at any depth, and passes what it narrowed",
    (name, root) => {
      const cases = malformed(root, (value) => value, name);
      expect(cases.length).toBeGreaterThan(0);
      for (const [path, value] of cases) {
        const narrowed = root(value);
        expect(narrowed, path).not.toBe(value);
        expect(root(narrowed), `${path}, narrowed again`).toBe(narrowed);
      }
    },
  );
});
