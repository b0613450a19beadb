/**
 * Records what the real kube-apiserver answers for every expression of the CEL corpus
 * (test/fixtures/cel/corpus.json) into test/fixtures/cel/apiserver.json, the ground truth that
 * test/cel/library.test.ts holds tollgate's CEL environment to.
 *
 *   npx tsc -p scripts/cel-record.tsconfig.json && node dist-e2e/scripts/cel-record.js
 *
 * How the apiserver is asked: one ValidatingAdmissionPolicy per expression E, bound with
 * `validationActions: [Deny]` to the objects labelled with the case's number, whose only validation is
 *
 *   expression:        RENDER(E) == ''                  (never true; an evaluation error shows as such)
 *   messageExpression: strings.quote(RENDER(E))         (the value, quoted so that newlines survive)
 *
 * where RENDER(E) is `[E].map(v, '%s|%s'.format([type(v), v]))[0]` (E outside the format call, since
 * the apiserver exempts format's arguments from homogeneous aggregate literals, which would let
 * `[1, 'a']` through inside it). A dry-run create of a custom resource carrying the
 * case's label (and the case's object, if any) is then denied with either the rendered value or
 * `expression '…' resulted in error: <cel-go's message>`; an expression that does not compile is
 * refused when its policy is created. Custom resources (a CRD that keeps unknown fields) are used so
 * that an object can hold any JSON: integers, doubles, nested lists.
 *
 * Bounded: one etcd and one kube-apiserver on 127.0.0.1, stopped by PID at the end, on an error and on
 * Ctrl-C (test/e2e/controlplane.ts).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type ControlPlane, REPO_ROOT, startControlPlane } from "../test/e2e/controlplane.js";

const CORPUS = join(REPO_ROOT, "test", "fixtures", "cel", "corpus.json");
const OUTPUT = join(REPO_ROOT, "test", "fixtures", "cel", "apiserver.json");

/** How a value is made text; `E` stands for the expression. Stored in the output for the test. */
const RENDER = "[E].map(v, '%s|%s'.format([type(v), v]))[0]";
const GROUP = "cel.tollgate.dev";
const NAMESPACE = "cel-record";
const CASE_LABEL = `${GROUP}/case`;
const FALLBACK_MESSAGE = "cel-record: the messageExpression failed";
const DENIED = "denied request: ";
const EVALUATION_ERROR = "resulted in error: ";
const POLICY_WAIT_MS = 120_000;
const PARALLEL = 6;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface CorpusEntry {
  expression: string;
  /** Fields of the object under test beside apiVersion, kind and metadata (`spec`, …). */
  object?: { [key: string]: Json };
}

type Corpus = Record<string, (string | CorpusEntry)[]>;

interface Recorded extends CorpusEntry {
  library: string;
  /** The rendered value (`type|value`), when the expression evaluated. */
  value?: string;
  /** cel-go's evaluation error. */
  error?: string;
  /** Why the apiserver refused the policy (the expression does not compile). */
  compileError?: string;
}

function render(expression: string): string {
  // A function, so that a `$` in the expression is not read as a replacement pattern.
  return RENDER.replaceAll("E", () => `(${expression})`);
}

/** The inverse of cel-go's strings.quote for the escapes it writes. */
function unquote(quoted: string): string {
  if (!quoted.startsWith('"') || !quoted.endsWith('"')) throw new Error(`not a quoted string: ${quoted}`);
  const escapes: Record<string, string> = {
    a: "\x07",
    b: "\b",
    f: "\f",
    n: "\n",
    r: "\r",
    t: "\t",
    v: "\v",
    "\\": "\\",
    '"': '"',
  };
  return quoted.slice(1, -1).replace(/\\(.)/gsu, (_, c: string) => {
    const replaced = escapes[c];
    if (replaced === undefined) throw new Error(`unknown escape \\${c} in ${quoted}`);
    return replaced;
  });
}

function policyName(index: number): string {
  return `cel-${index}`;
}

function policy(index: number, expression: string): unknown {
  const rendered = render(expression);
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingAdmissionPolicy",
    metadata: { name: policyName(index) },
    spec: {
      failurePolicy: "Fail",
      matchConstraints: {
        resourceRules: [
          { apiGroups: [GROUP], apiVersions: ["v1"], operations: ["CREATE"], resources: ["celcases"] },
        ],
      },
      validations: [
        {
          expression: `${rendered} == ''`,
          messageExpression: `strings.quote(${rendered})`,
          message: FALLBACK_MESSAGE,
        },
      ],
    },
  };
}

function binding(index: number): unknown {
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingAdmissionPolicyBinding",
    metadata: { name: policyName(index) },
    spec: {
      policyName: policyName(index),
      validationActions: ["Deny"],
      matchResources: { objectSelector: { matchLabels: { [CASE_LABEL]: String(index) } } },
    },
  };
}

function testObject(index: number, entry: CorpusEntry): unknown {
  return {
    apiVersion: `${GROUP}/v1`,
    kind: "CelCase",
    metadata: { name: `case-${index}`, namespace: NAMESPACE, labels: { [CASE_LABEL]: String(index) } },
    ...entry.object,
  };
}

function statusMessage(body: string): string {
  try {
    const status = JSON.parse(body) as { message?: unknown };
    if (typeof status.message === "string") return status.message;
  } catch {
    // not a Status: the body itself says what happened
  }
  return body;
}

async function must(cp: ControlPlane, method: string, path: string, body: unknown): Promise<void> {
  const res = await cp.request(method, path, { body });
  if (res.status < 200 || res.status >= 300) {
    throw new Error(`${method} ${path}: HTTP ${res.status}: ${res.body}`);
  }
}

async function installCrd(cp: ControlPlane): Promise<void> {
  await must(cp, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `celcases.${GROUP}` },
    spec: {
      group: GROUP,
      scope: "Namespaced",
      names: { plural: "celcases", singular: "celcase", kind: "CelCase", listKind: "CelCaseList" },
      versions: [
        {
          name: "v1",
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
        },
      ],
    },
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    const res = await cp.request("GET", `/apis/${GROUP}/v1/namespaces/${NAMESPACE}/celcases`);
    if (res.status === 200) return;
    if (Date.now() > deadline) throw new Error(`the CelCase CRD was not served within 60 s: ${res.body}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Runs `work` over `items` with at most PARALLEL at once. */
async function eachParallel<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
}

/** Creates the policy and its binding; the compile error when the apiserver refuses the policy. */
async function createPolicy(
  cp: ControlPlane,
  index: number,
  expression: string,
): Promise<string | undefined> {
  const path = "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies";
  const res = await cp.request("POST", path, { body: policy(index, expression) });
  if (res.status === 422) return statusMessage(res.body);
  if (res.status !== 201) throw new Error(`creating ${policyName(index)}: HTTP ${res.status}: ${res.body}`);
  await must(
    cp,
    "POST",
    "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings",
    binding(index),
  );
  return undefined;
}

/** The apiserver's verdict on the case's object: its denial text, once the policy is in effect. */
async function ask(cp: ControlPlane, index: number, entry: CorpusEntry): Promise<string> {
  const path = `/apis/${GROUP}/v1/namespaces/${NAMESPACE}/celcases?dryRun=All`;
  const deadline = Date.now() + POLICY_WAIT_MS;
  for (;;) {
    const res = await cp.request("POST", path, { body: testObject(index, entry) });
    if (res.status !== 201) return statusMessage(res.body);
    // Admitted: the policy has not reached the admission plugin yet (it reads from an informer).
    if (Date.now() > deadline) throw new Error(`${policyName(index)} did not take effect in time`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

function outcome(denial: string, index: number): Pick<Recorded, "value" | "error"> {
  const at = denial.indexOf(DENIED);
  if (at < 0) throw new Error(`case ${index}: not a policy denial: ${denial}`);
  const message = denial.slice(at + DENIED.length);
  const errorAt = message.indexOf(EVALUATION_ERROR);
  if (message.startsWith("expression '") && errorAt >= 0) {
    return { error: message.slice(errorAt + EVALUATION_ERROR.length) };
  }
  if (message === FALLBACK_MESSAGE) throw new Error(`case ${index}: the messageExpression failed`);
  return { value: unquote(message) };
}

/** The compile error without the policy's name and the echo of the (long) rendered expression. */
function compileError(message: string): string {
  const at = message.indexOf("compilation failed: ");
  return at >= 0 ? message.slice(at + "compilation failed: ".length) : message;
}

async function record(
  cp: ControlPlane,
  entries: readonly (CorpusEntry & { library: string })[],
): Promise<Recorded[]> {
  await cp.createNamespace(NAMESPACE);
  await installCrd(cp);
  const results: Recorded[] = entries.map((entry) => ({ ...entry }));
  const indexes = entries.map((_, index) => index);
  await eachParallel(indexes, async (index) => {
    const refused = await createPolicy(cp, index, entries[index]!.expression);
    if (refused !== undefined) results[index]!.compileError = compileError(refused);
  });
  await eachParallel(indexes, async (index) => {
    const result = results[index]!;
    if (result.compileError !== undefined) return;
    Object.assign(result, outcome(await ask(cp, index, entries[index]!), index));
  });
  return results;
}

function readCorpus(): (CorpusEntry & { library: string })[] {
  const corpus = JSON.parse(readFileSync(CORPUS, "utf8")) as Corpus;
  return Object.entries(corpus).flatMap(([library, entries]) =>
    entries.map((entry) =>
      typeof entry === "string" ? { library, expression: entry } : { library, ...entry },
    ),
  );
}

async function main(): Promise<void> {
  const entries = readCorpus();
  const cp = await startControlPlane();
  const stop = (): void => {
    void cp.stop().then(() => process.exit(130));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    process.stderr.write(`recording ${entries.length} expressions against ${cp.kubernetesVersion}\n`);
    const results = await record(cp, entries);
    const output = { kubernetesVersion: cp.kubernetesVersion, render: RENDER, results };
    writeFileSync(OUTPUT, `${JSON.stringify(output, null, 2)}\n`);
    const count = (key: "value" | "error" | "compileError"): number =>
      results.filter((r) => r[key] !== undefined).length;
    process.stderr.write(
      `wrote ${OUTPUT}: ${count("value")} values, ${count("error")} errors, ${count("compileError")} compile errors\n`,
    );
  } finally {
    await cp.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`cel-record: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
