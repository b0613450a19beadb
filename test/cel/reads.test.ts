/**
 * What an expression reads of the policy variables (src/cel/reads.ts), and the partial view built
 * from it. Each read is written `root.field.field` when the value there is read whole, with a
 * trailing `?` when only its presence is (`has()`), and `[*]` for what a list macro reads of each
 * element; the maps above a read are implied.
 */
import { describe, expect, it } from "vitest";
import { compileExpression } from "../../src/cel/compile.js";
import { celViewOf, type Reads, type ReadTree, unionOf, WHOLE_READS } from "../../src/cel/reads.js";
import { toCel } from "../../src/cel/values.js";

function flatten(reads: Reads): string[] {
  const out: string[] = [];
  const walk = (tree: ReadTree, at: string): void => {
    if (tree.whole) {
      out.push(at);
      return;
    }
    if (tree.fields.size === 0 && tree.items === undefined) out.push(`${at}?`);
    for (const [field, below] of tree.fields) {
      walk(
        below,
        /^[A-Za-z_][A-Za-z0-9_]*$/.test(field) ? `${at}.${field}` : `${at}[${JSON.stringify(field)}]`,
      );
    }
    if (tree.items !== undefined) walk(tree.items, `${at}[*]`);
  };
  for (const [root, tree] of Object.entries(reads)) walk(tree, root);
  return out.sort();
}

const readsOf = (source: string): string[] =>
  flatten(compileExpression(source, { params: true, variables: new Set(["v"]) }).reads);

describe("the reads of an expression", () => {
  it.each([
    // A chain read as a value: its end whole.
    ["object.spec.replicas <= 5", ["object.spec.replicas"]],
    ["object.spec.containers.all(c, c.image.startsWith('r/'))", ["object.spec.containers[*].image"]],
    ["object.metadata.name.matches('^[a-z]+$')", ["object.metadata.name"]],
    // size() reads how many elements there are, none of what they hold.
    ["size(object.spec.containers) <= 5", ["object.spec.containers[*]?"]],
    ["object.spec.containers.size() <= 5", ["object.spec.containers[*]?"]],
    ["object.metadata.name.size() <= 63", ["object.metadata.name[*]?"]],
    ["'team' in object.metadata.labels", ["object.metadata.labels"]],
    ["object.metadata.labels == {'a': 'b'}", ["object.metadata.labels"]],
    ["string(object.metadata.labels) != ''", ["object.metadata.labels"]],
    // A loop variable used as a value takes each element whole (a map's keys: the map whole).
    ["object.metadata.labels.all(k, k != 'x')", ["object.metadata.labels[*]"]],
    // Index by a string literal is a field; by anything else the receiver is read whole.
    [
      "object.metadata.labels['app.kubernetes.io/name'] == 'web'",
      ['object.metadata.labels["app.kubernetes.io/name"]'],
    ],
    ["object.spec.containers[0].image == 'x'", ["object.spec.containers"]],
    ["object.metadata.labels[params.key] == 'x'", ["object.metadata.labels", "params.key"]],
    ["object[1] == 2", ["object"]],
    // Optional selection and index.
    ["object.?spec.?replicas.orValue(1) == 1", ["object.spec.replicas"]],
    ["object.metadata.?labels[?'team'].hasValue()", ["object.metadata.labels.team"]],
    // has(): only whether the last field is there; the maps above it are selected from.
    ["has(object.spec.hostNetwork)", ["object.spec.hostNetwork?"]],
    ["!has(object.spec.hostNetwork) || !object.spec.hostNetwork", ["object.spec.hostNetwork"]],
    ["has(object.metadata.labels) && 'team' in object.metadata.labels", ["object.metadata.labels"]],
    ["has(object.spec) && has(object.spec.x)", ["object.spec.x?"]],
    // A root used other than through a chain: whole.
    ["object == oldObject", ["object", "oldObject"]],
    ["oldObject == null", ["oldObject"]],
    ["[object].size() == 1", ["object"]],
    ["{'o': request}.size() == 1", ["request"]],
    ["object.exists(k, k == 'spec')", ["object[*]"]],
    ["'spec' in object", ["object"]],
    ["object.metadata.labels.transformMap(k, v, v + '!').size() > 0", ["object.metadata.labels"]],
    ["object.spec.containers.all(i, c, c.image != '')", ["object.spec.containers"]],
    // Every root, several reads, union within one expression.
    [
      "request.userInfo.username == namespaceObject.metadata.name && params.data.x == object.kind",
      ["namespaceObject.metadata.name", "object.kind", "params.data.x", "request.userInfo.username"],
    ],
    [
      "object.spec.replicas > 1 && object.spec.template.spec.containers.size() > 0",
      ["object.spec.replicas", "object.spec.template.spec.containers[*]?"],
    ],
    // A field read whole and a field below it: whole wins.
    ["object.spec.x == object.spec", ["object.spec"]],
    // Variables are not roots: what they read counts in their own expression.
    ["variables.v.size() > 0", []],
    // A loop variable named like a root shadows it, as in CEL.
    ["object.spec.containers.all(object, object.image != '')", ["object.spec.containers[*].image"]],
    // The list macros read each element as their body reads the loop variable, nested too.
    [
      "object.spec.containers.all(c, !has(c.ports) || c.ports.all(p, has(p.name)))",
      ["object.spec.containers[*].ports[*].name?"],
    ],
    [
      "object.spec.containers.all(c, c.env.all(e, e.name != c.name))",
      ["object.spec.containers[*].env[*].name", "object.spec.containers[*].name"],
    ],
    ["object.spec.containers.exists(c, c.image == 'a')", ["object.spec.containers[*].image"]],
    ["object.spec.containers.exists_one(c, c.image == 'a')", ["object.spec.containers[*].image"]],
    ["object.spec.containers.map(c, c.name).size() > 0", ["object.spec.containers[*].name"]],
    [
      "object.spec.containers.map(c, has(c.ports), c.name).size() > 0",
      ["object.spec.containers[*].name", "object.spec.containers[*].ports?"],
    ],
    // filter returns the elements themselves: its receiver is read whole.
    ["object.spec.containers.filter(c, c.name == 'a').size() > 0", ["object.spec.containers"]],
    // A loop variable compared, passed on or indexed by a computed key: each element whole.
    ["object.spec.containers.all(c, c != null)", ["object.spec.containers[*]"]],
    ["object.spec.containers.all(c, size(c) > 0)", ["object.spec.containers[*][*]?"]],
    ["object.spec.containers.all(c, string(c) != '')", ["object.spec.containers[*]"]],
    ["object.spec.containers.all(c, c[params.key] == 1)", ["object.spec.containers[*]", "params.key"]],
    // The receiver is no chain: what it is made of is read where it is made.
    ["[object.spec.a, object.spec.b].all(x, x.y == 1)", ["object.spec.a", "object.spec.b"]],
    // The elements' reads of several uses, united; whole wins over them.
    [
      "object.spec.containers.size() > 1 && object.spec.containers.all(c, c.image != '')",
      ["object.spec.containers[*].image"],
    ],
    [
      "object.spec.containers.all(c, c.image != '') && object.spec.containers == []",
      ["object.spec.containers"],
    ],
    // `__proto__` cannot be set on a fresh map: what holds it is read whole.
    ["object.metadata.__proto__ == 1", ["object.metadata"]],
    ["object.metadata['__proto__'] == 1", ["object.metadata"]],
    // Expressions that do not read the request.
    ["1 + 2 == 3", []],
  ])("%s reads %j", (source, expected) => {
    expect(readsOf(source)).toEqual(expected);
  });

  it("unites the reads of several expressions, whole winning over a part", () => {
    const compiled = [
      "object.spec.containers.size() > 0",
      "has(object.spec.hostNetwork)",
      "object.metadata.labels['team'] == 'a'",
      "object.metadata == null",
    ].map((source) => compileExpression(source, { params: false, variables: new Set() }).reads);
    expect(flatten(unionOf(compiled))).toEqual([
      "object.metadata",
      "object.spec.containers[*]?",
      "object.spec.hostNetwork?",
    ]);
    expect(flatten(unionOf([]))).toEqual([]);
    expect(flatten(WHOLE_READS)).toEqual(["namespaceObject", "object", "oldObject", "params", "request"]);
  });
});

describe("the partial view", () => {
  const pod = {
    metadata: { name: "web", labels: { team: "a", tier: "b" }, annotations: { x: "1" } },
    spec: {
      replicas: 3,
      containers: [{ name: "c", ports: [{ containerPort: 80 }] }],
      volumes: [{ name: "v", emptyDir: {} }],
    },
  };
  const treeOf = (...sources: string[]): ReadTree =>
    unionOf(sources.map((s) => compileExpression(s, { params: false, variables: new Set() }).reads)).object!;

  it("holds the fields read, converted as toCel converts them, and nothing else", () => {
    const view = celViewOf(
      pod,
      treeOf("object.spec.containers[0].name != ''", "object.metadata.labels['team'] == 'a'"),
    );
    expect(view).toEqual({
      metadata: { labels: { team: "a" } },
      spec: { containers: toCel(pod.spec.containers) },
    });
    expect(
      (view as { spec: { containers: { ports: { containerPort: unknown }[] }[] } }).spec.containers[0]!
        .ports[0]!.containerPort,
    ).toBe(80n);
  });

  it("leaves out a field read that the object does not have, and keeps a null one", () => {
    expect(
      celViewOf(
        { spec: { x: null } },
        treeOf("object.spec.x == 1", "object.status.y == 1", "object.spec.z == 1"),
      ),
    ).toEqual({
      spec: { x: null },
    });
  });

  it("gives an empty map or list where only presence is read, a scalar as it is", () => {
    expect(
      celViewOf(
        pod,
        treeOf("has(object.metadata.labels)", "has(object.spec.volumes)", "has(object.spec.replicas)"),
      ),
    ).toEqual({
      metadata: { labels: {} },
      spec: { volumes: [], replicas: 3n },
    });
  });

  it("converts a list or a scalar found where a map was expected whole", () => {
    expect(celViewOf({ spec: [1, 2] }, treeOf("object.spec.x == 1"))).toEqual({ spec: [1n, 2n] });
    expect(celViewOf({ spec: 7 }, treeOf("object.spec.x == 1"))).toEqual({ spec: 7n });
    expect(celViewOf(null, treeOf("object.spec.x == 1"))).toBeNull();
  });

  it("holds as many empty elements as the list where only its size is read", () => {
    expect(
      celViewOf(pod, treeOf("object.spec.containers.size() > 0", "size(object.spec.volumes) > 0")),
    ).toEqual({
      spec: { containers: [{}], volumes: [{}] },
    });
  });

  it("holds each element of a list a macro iterates as the body reads it, in order", () => {
    const object = {
      spec: {
        containers: [
          { name: "a", image: "r/a", ports: [{ name: "http", containerPort: 80 }, { containerPort: 81 }] },
          { name: "b", env: [{ name: "X", value: "1" }] },
          "odd",
          7,
        ],
      },
    };
    expect(
      celViewOf(
        object,
        treeOf("object.spec.containers.all(c, c.image != '' && c.ports.all(p, has(p.name)))"),
      ),
    ).toEqual({
      spec: { containers: [{ image: "r/a", ports: [{ name: "http" }, {}] }, {}, "odd", 7n] },
    });
  });

  it("converts a map found where a macro iterates a list whole: it gives its keys", () => {
    const labels = { a: "1", b: "2" };
    expect(
      celViewOf({ metadata: { labels } }, treeOf("object.metadata.labels.all(k, k.size() == 1)")),
    ).toEqual({ metadata: { labels } });
    expect(
      celViewOf(
        { spec: { containers: { x: { port: 1 } } } },
        treeOf("object.spec.containers.all(c, c.image != '')"),
      ),
    ).toEqual({ spec: { containers: { x: { port: 1n } } } });
  });

  it("is toCel itself where the whole is read", () => {
    expect(celViewOf(pod, WHOLE_READS.object!)).toEqual(toCel(pod));
  });
});
