/**
 * tollgate's CEL environment against the real kube-apiserver: every expression of the corpus
 * (test/fixtures/cel/corpus.json) as the apiserver answered it (test/fixtures/cel/apiserver.json,
 * written by scripts/cel-record.ts) must get the same answer here: the same value, rendered by the
 * same `strings.format` wrapper, or an evaluation error for an evaluation error, or a compile error
 * for a compile error. The cases where tollgate answers differently are the limitations listed in
 * docs/policies-cel.md, and only those: fixing one, or breaking another, fails this test.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compileExpression, ExpressionError } from "../../src/cel/compile.js";
import { toCel } from "../../src/cel/values.js";

const FIXTURES = join(import.meta.dirname, "..", "fixtures", "cel");
const DOCS = join(import.meta.dirname, "..", "..", "docs", "policies-cel.md");

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface Recorded {
  library: string;
  expression: string;
  object?: { [key: string]: Json };
  value?: string;
  error?: string;
  compileError?: string;
}

interface Recording {
  kubernetesVersion: string;
  render: string;
  results: Recorded[];
}

type Answer = { value: string } | { error: string } | { compileError: string };

const recording = JSON.parse(readFileSync(join(FIXTURES, "apiserver.json"), "utf8")) as Recording;
const corpus = JSON.parse(readFileSync(join(FIXTURES, "corpus.json"), "utf8")) as Record<
  string,
  (string | { expression: string; object?: { [key: string]: Json } })[]
>;

/** The object the recorder created for case `index`, as the policy's `object` saw it. */
function objectOf(index: number, entry: Recorded): unknown {
  return {
    apiVersion: "cel.tollgate.dev/v1",
    kind: "CelCase",
    metadata: {
      name: `case-${index}`,
      namespace: "cel-record",
      labels: { "cel.tollgate.dev/case": String(index) },
    },
    ...entry.object,
  };
}

function tollgateAnswer(index: number, entry: Recorded): Answer {
  const rendered = recording.render.replaceAll("E", () => `(${entry.expression})`);
  let compiled;
  try {
    compiled = compileExpression(rendered, { params: false, variables: new Set() });
  } catch (error) {
    if (error instanceof ExpressionError) return { compileError: error.message };
    throw error;
  }
  try {
    const value: unknown = compiled.evaluate({
      object: toCel(objectOf(index, entry)),
      oldObject: null,
      request: {},
      namespaceObject: null,
      variables: {},
    });
    if (typeof value !== "string") throw new Error(`the wrapper gave a ${typeof value}, not a string`);
    return { value };
  } catch (error) {
    if (error instanceof Error && error.name === "EvaluationError")
      return { error: error.message.split("\n")[0]! };
    throw error;
  }
}

function apiserverAnswer(entry: Recorded): Answer {
  if (entry.value !== undefined) return { value: entry.value };
  if (entry.error !== undefined) return { error: entry.error };
  return { compileError: entry.compileError! };
}

/** Same value, or an error of the same kind (the texts are cel-go's and cel-js's own). */
function agree(apiserver: Answer, tollgate: Answer): boolean {
  if ("value" in apiserver) return "value" in tollgate && tollgate.value === apiserver.value;
  if ("error" in apiserver) return "error" in tollgate;
  return "compileError" in tollgate;
}

/** The expressions of the limitations table in docs/policies-cel.md (first column, in backticks). */
function documentedLimitations(): Set<string> {
  const docs = readFileSync(DOCS, "utf8");
  const start = docs.indexOf("<!-- limitations -->");
  const end = docs.indexOf("<!-- /limitations -->");
  if (start < 0 || end < 0) throw new Error(`${DOCS} has no limitations table`);
  const rows = docs
    .slice(start, end)
    .split("\n")
    .filter((line) => line.startsWith("| `"));
  // The first cell, in backticks; a `|` in it is escaped as `\|`.
  return new Set(rows.map((row) => /^\| `(.*?)` +\|/.exec(row)![1]!.replaceAll("\\|", "|")));
}

const limitations = documentedLimitations();
const cases = recording.results.map((entry, index) => ({ entry, index }));

describe("the recording", () => {
  it("is of the corpus as it is now (re-run scripts/cel-record.ts after changing the corpus)", () => {
    const expressions = Object.entries(corpus).flatMap(([library, entries]) =>
      entries.map((e) => ({ library, ...(typeof e === "string" ? { expression: e } : e) })),
    );
    expect(
      recording.results.map(({ library, expression, object }) => ({ library, expression, object })),
    ).toEqual(expressions.map(({ library, expression, object }) => ({ library, expression, object })));
  });

  it("is of the newest Kubernetes release", () => {
    expect(recording.kubernetesVersion).toBe("v1.37.2");
  });

  it("covers at least 300 expressions", () => {
    expect(recording.results.length).toBeGreaterThanOrEqual(300);
  });
});

describe.each([...new Set(recording.results.map((r) => r.library))])("%s", (library) => {
  it.each(cases.filter((c) => c.entry.library === library))("$entry.expression", ({ entry, index }) => {
    const apiserver = apiserverAnswer(entry);
    const tollgate = tollgateAnswer(index, entry);
    if (limitations.has(entry.expression)) {
      // A documented limitation: still different (else the docs and this list are out of date).
      expect(agree(apiserver, tollgate), JSON.stringify(tollgate)).toBe(false);
    } else {
      expect(tollgate, `apiserver: ${JSON.stringify(apiserver)}`).toEqual(
        agree(apiserver, tollgate) ? tollgate : apiserver,
      );
    }
  });
});

describe("the limitations table", () => {
  it("lists only expressions of the corpus", () => {
    const expressions = new Set(recording.results.map((r) => r.expression));
    expect([...limitations].filter((e) => !expressions.has(e))).toEqual([]);
  });

  it("leaves most of the corpus agreeing with the apiserver", () => {
    const agreeing = cases.filter(({ entry, index }) =>
      agree(apiserverAnswer(entry), tollgateAnswer(index, entry)),
    );
    // The match rate, for the record: agreeing / all.
    console.info(
      `CEL corpus: ${agreeing.length}/${cases.length} agree with kube-apiserver ${recording.kubernetesVersion}`,
    );
    expect(agreeing.length).toBe(cases.length - limitations.size);
  });
});
