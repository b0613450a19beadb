import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * The layers of src/, lowest first. A file may import from its own layer or a lower one, never a
 * higher one; folders on one layer may use each other as long as no circle forms.
 */
const LAYERS: readonly (readonly string[])[] = [
  ["objects"],
  ["rules", "input", "tls", "metrics.ts", "version.ts", "suggest.ts", "log.ts", "cel"],
  // ValidatingAdmissionPolicies: loaded like inputs, evaluated with cel/.
  ["config", "vap"],
  ["engine"],
  ["admission", "report", "audit", "k8s", "testing"],
  // The HTTPS app and the servers it runs on (the metrics server shares its limits).
  ["app.ts", "server"],
  ["cli"],
  ["main.ts"],
];

const SRC = join(import.meta.dirname, "..", "src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [path] : [];
  });
}

/** The relative imports of a file (static, type-only and dynamic), as paths under src/. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specifiers = [
    ...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"/gms),
    ...text.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g),
  ].map((match) => match[1]!);
  return specifiers
    .filter((spec) => spec.startsWith("."))
    .map((spec) => relative(SRC, normalize(join(dirname(file), spec.replace(/\.js$/, ".ts")))));
}

function layerOf(path: string): number {
  const top = path.split("/")[0]!;
  const layer = LAYERS.findIndex((names) => names.includes(top));
  if (layer === -1) throw new Error(`src/${path} is on no layer: add ${top} to LAYERS in this test`);
  return layer;
}

const FILES = sourceFiles(SRC).map((file) => relative(SRC, file));
const GRAPH = new Map(FILES.map((file) => [file, importsOf(join(SRC, file))]));

describe("the layers of src/ (objects < rules < engine < adapters < cli < main)", () => {
  it("reads the imports it judges", () => {
    // A reader that found no imports would pass every check below.
    expect(GRAPH.get("engine/evaluate.ts")).toContain("objects/object.ts");
    expect(GRAPH.get("main.ts")).toContain("cli/serve.ts");
  });

  it("has every import point to a file that exists", () => {
    const missing = [...GRAPH].flatMap(([file, imports]) =>
      imports.filter((target) => !GRAPH.has(target)).map((target) => `${file} -> ${target}`),
    );
    expect(missing).toEqual([]);
  });

  it("never imports from a higher layer", () => {
    const upward = [...GRAPH].flatMap(([file, imports]) =>
      imports.filter((target) => layerOf(target) > layerOf(file)).map((target) => `${file} -> ${target}`),
    );
    expect(upward).toEqual([]);
  });

  it("keeps src/objects free of every other part of tollgate", () => {
    const outside = [...GRAPH]
      .filter(([file]) => file.startsWith("objects/"))
      .flatMap(([file, imports]) =>
        imports.filter((target) => !target.startsWith("objects/")).map((target) => `${file} -> ${target}`),
      );
    expect(outside).toEqual([]);
  });

  it("has no import circle, type-only imports included", () => {
    const circles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const stack: string[] = [];
    const visit = (file: string) => {
      state.set(file, "open");
      stack.push(file);
      for (const target of GRAPH.get(file) ?? []) {
        if (state.get(target) === "open") {
          circles.push([...stack.slice(stack.indexOf(target)), target].join(" -> "));
        } else if (!state.has(target)) {
          visit(target);
        }
      }
      stack.pop();
      state.set(file, "done");
    };
    for (const file of FILES) if (!state.has(file)) visit(file);
    expect(circles).toEqual([]);
  });
});
