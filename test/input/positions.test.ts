import { describe, expect, test } from "vitest";
import { splitDocuments } from "../../src/input/documents.js";
import { lineOfPath, parseYamlDocuments, splitPath } from "../../src/input/positions.js";
import { MANIFEST_SCHEMA } from "../../src/input/schemas.js";

const TEXT = `# leading comment
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web, "pod-security.kubernetes.io/enforce": restricted}
spec:
  template:
    spec:
      containers:
        - name: sidecar
          image: proxy
        - name: web
          image: web
          securityContext:
            runAsNonRoot: false
      volumes: []
`;

describe("line positions", () => {
  const [doc] = parseYamlDocuments(TEXT, 1, MANIFEST_SCHEMA);
  const line = (path: string) => lineOfPath(doc!.lines, doc!.value, path, 99);

  test("a document starts at its first key, after comments", () => {
    expect(doc!.line).toBe(2);
  });

  test.each([
    ["spec.template.spec.containers[name=web].securityContext.runAsNonRoot", 16],
    ["spec.template.spec.containers[name=web].securityContext", 15],
    ["spec.template.spec.containers[1]", 13],
    ["spec.template.spec.containers[name=sidecar]", 11],
    ["metadata.labels.pod-security.kubernetes.io/enforce", 6],
    ["metadata.name", 5],
  ])("%s is on line %i", (path, expected) => {
    expect(line(path)).toBe(expected);
  });

  test.each([
    ["spec.template.spec.containers[name=web].resources.limits", 13],
    ["spec.template.spec.containers[name=nope].image", 10],
    ["spec.template.spec.volumes[3]", 17],
    ["spec.template.spec.containers[7]", 10],
    ["status.replicas", 2],
  ])("missing %s falls back to its nearest existing ancestor, line %i", (path, expected) => {
    expect(line(path)).toBe(expected);
  });

  test("paths split into keys, indexes and selectors", () => {
    expect(splitPath('a.b[2].c[name=web]["x.y"]')).toEqual([
      { key: "a" },
      { key: "b" },
      { index: 2 },
      { key: "c" },
      { field: "name", equals: "web" },
      { key: "x.y" },
    ]);
  });

  test("lines are offset by the chunk's first line", () => {
    const [shifted] = parseYamlDocuments("a:\n  b: 1\n", 40, MANIFEST_SCHEMA);
    expect(lineOfPath(shifted!.lines, shifted!.value, "a.b", 0)).toBe(41);
  });
});

describe("splitting a stream into documents", () => {
  test("cuts at --- markers at column 0, keeping line numbers", () => {
    const chunks = splitDocuments("a: 1\n---\nb: |\n  --- not a marker\n---\nc: 3\n");
    expect(chunks.map((c) => c.line)).toEqual([1, 2, 5]);
    expect(chunks[1]!.text).toBe("---\nb: |\n  --- not a marker\n");
  });

  test("directives stay with the document after them", () => {
    const chunks = splitDocuments("# header\n%YAML 1.2\n---\nb: 2\n---\nc: 3\n");
    expect(chunks.map((c) => [c.line, c.text])).toEqual([
      [1, "# header\n%YAML 1.2\n---\nb: 2\n"],
      [5, "---\nc: 3\n"],
    ]);
    expect(parseYamlDocuments(chunks[0]!.text, 1, MANIFEST_SCHEMA).map((d) => d.line)).toEqual([4]);
  });
});
