/**
 * The differential test of tollgate's ValidatingAdmissionPolicies against the real kube-apiserver.
 *
 * The corpus is test/fixtures/vap-corpus/: one folder per policy, with `policy.yaml` (the policy,
 * its bindings and its params), `objects/` (the objects under test, one a file), `existing/`
 * (optional: objects created before anything is judged, so that applying an object of the same
 * name is an UPDATE) and `tollgate-test.yaml` (the same cases for `tollgate test`). An object file
 * named `<name>.<subresource>.yaml` is written to that subresource (a PUT with dryRun=All) instead
 * of applied.
 *
 * Every object is judged twice, as the ordinary user `alice`, with `kubectl apply --dry-run=server`:
 *   1. by the apiserver alone: the policy folder applied as real VAPs, bindings and params, then
 *      deleted again;
 *   2. by tollgate alone: `tollgate serve --bootstrap` with a config whose `policies:` names that
 *      folder's policy file (reloaded from one policy to the next), every built-in rule off, in
 *      namespaces labelled tollgate.dev/mode=enforce.
 * Both must give the same verdict (allowed, denied, warned), the same warnings, and tollgate's denial
 * must hold the apiserver's message (the apiserver names only the first failed validation), with
 * the same status reason. Differences that docs/policies.md or docs/policies-cel.md document are
 * listed below with the doc's reason (and must still differ); bugs not fixed yet are `it.fails`.
 */
import { execFile } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  existsSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import yaml from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ControlPlane, type KubectlResult, REPO_ROOT, startControlPlane } from "./controlplane.js";
import {
  startTollgate,
  type Tollgate,
  TOLLGATE_MAIN,
  TOLLGATE_NAMESPACE,
  waitForWebhook,
} from "./tollgate.js";

const BUILD_AND_START_TIMEOUT_MS = 45 * 60 * 1000;
const CORPUS = join(REPO_ROOT, "test", "fixtures", "vap-corpus");
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

type Verdict = "allowed" | "denied" | "warned";

/** What one side said of one object: the verdict, and each policy's denials and warnings. */
interface Outcome {
  verdict: Verdict;
  /** `<policy>: <message>`, sorted. */
  denials: string[];
  /** `<policy>: <message>`, sorted. */
  warnings: string[];
  /** The status reason of a denial (Forbidden, Invalid…). */
  reason: string | undefined;
  /**
   * Anything else kubectl printed to stderr: the apiserver's own warnings (the same both ways), and
   * what neither side's format explains (an unexplained denial, which must not happen).
   */
  other: string[];
}

interface CorpusObject {
  /** `<policy folder>/objects/<file>`, the key of the results. */
  key: string;
  file: string;
  text: string;
  kind: string;
  apiVersion: string;
  namespace: string;
  name: string;
  subresource: string | undefined;
}

interface PolicyFolder {
  name: string;
  dir: string;
  objects: CorpusObject[];
}

function parseObject(
  text: string,
  where: string,
): { apiVersion: string; kind: string; namespace: string; name: string } {
  const object = yaml.load(text) as {
    apiVersion?: string;
    kind?: string;
    metadata?: { name?: string; namespace?: string };
  };
  const { apiVersion, kind } = object;
  const name = object.metadata?.name;
  const namespace = object.metadata?.namespace;
  if (!apiVersion || !kind || !name || !namespace) {
    throw new Error(
      `${where}: an object under test needs apiVersion, kind, metadata.name and metadata.namespace`,
    );
  }
  return { apiVersion, kind, namespace, name };
}

function loadCorpus(): PolicyFolder[] {
  return readdirSync(CORPUS, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(CORPUS, entry.name, "policy.yaml")))
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const dir = join(CORPUS, name);
      const objects = readdirSync(join(dir, "objects"))
        .filter((file) => file.endsWith(".yaml"))
        .sort()
        .map((file): CorpusObject => {
          const path = join(dir, "objects", file);
          const text = readFileSync(path, "utf8");
          const parts = file.slice(0, -".yaml".length).split(".");
          return {
            key: `${name}/objects/${file}`,
            file: path,
            text,
            ...parseObject(text, path),
            subresource: parts.length > 1 ? parts[parts.length - 1] : undefined,
          };
        });
      return { name, dir, objects };
    });
}

const CORPUS_FOLDERS = loadCorpus();

/**
 * Where tollgate and the apiserver differ for a reason docs/policies.md or docs/policies-cel.md
 * gives: the verdicts agree, and the messages are the same once the documented difference is
 * undone; they must still differ, so that the list stays true.
 */
interface DocumentedDifference {
  why: string;
  /** tollgate's message with the documented difference undone. */
  undo(message: string): string;
}

const ERROR_TEXTS: DocumentedDifference = {
  why: "docs/policies-cel.md, Error texts: cel-js words the errors of its own field selection and map index its way (`No such key: labels`; cel-go `no such key: labels`)",
  undo: (message) =>
    message
      .replace("resulted in error: No such key: ", "resulted in error: no such key: ")
      .replace("fails to evaluate: No such key: ", "fails to evaluate: no such key: "),
};

const DOCUMENTED_MESSAGE_DIFFERENCES: Readonly<Record<string, DocumentedDifference>> = {
  "audit-annotation-error/objects/sa-uncosted.yaml": ERROR_TEXTS,
  "match-condition-error/objects/sa-untiered.yaml": ERROR_TEXTS,
  "team-label-fail/objects/sa-no-labels.yaml": ERROR_TEXTS,
  "team-label-fail/objects/sa-other-labels.yaml": ERROR_TEXTS,
  "variable-error/objects/sa-unlabelled.yaml": ERROR_TEXTS,
};

/**
 * Cases of the corpus's tollgate-test.yaml files whose offline verdict is not the apiserver's, and why.
 * (A message may also be cut to the part both agree on; the test checks it is the apiserver's.)
 */
const OFFLINE_ADAPTED_VERDICTS: Readonly<Record<string, string>> = {
  "replicas-cap/objects/deploy-defaulted.yaml":
    "docs/policies.md: offline the object is the manifest as written, without the apiserver's defaults (replicas: 1)",
  "ephemeral-images/objects/debug-target-public.ephemeralcontainers.yaml":
    "a tollgate-test case cannot name a subresource: offline it is an UPDATE of the Pod, which the policy does not select",
};

/** Known bugs: the case runs as `it.fails` until they are fixed. None today. */
const BUGS: Readonly<Record<string, string>> = {};

// ---------------------------------------------------------------------------------------------
// Reading what kubectl printed

const APISERVER_DENIAL = /ValidatingAdmissionPolicy '([^']+)' with binding '[^']+' denied request: (.*)$/;
const APISERVER_WARNING =
  /^Warning: Validation failed for ValidatingAdmissionPolicy '([^']+)' with binding '[^']+': (.*)$/;
const TOLLGATE_HEADER = /tollgate: \S+ "[^"]*"(?: in namespace "[^"]*")? has \d+ violations?:$/;
const TOLLGATE_DENIAL = /^- ([a-z0-9.-]+): (.*)$/;
const TOLLGATE_WARNING = /^Warning: ([a-z0-9.-]+): (.*)$/;
const TOLLGATE_FAILED_PREFIX = "the policy could not be evaluated and its failurePolicy is Fail: ";
const FIX = ". Fix: ";

function reasonOf(stderr: string): string | undefined {
  const server = /Error from server \((\w+)\)/.exec(stderr);
  if (server) return server[1];
  if (/ is invalid: /.test(stderr)) return "Invalid";
  return undefined;
}

/** Lines of a kubectl error that are kubectl's own framing of a denied apply (the patch it sent, the object). */
function isFraming(line: string): boolean {
  return (
    line === "" ||
    /^Error from server \(\w+\): error when (creating|applying patch|patching)/.test(line) ||
    /^(to:|Resource: |Name: |for: |\{)/.test(line) ||
    / is invalid: /.test(line)
  );
}

function outcomeOf(result: KubectlResult, side: "apiserver" | "tollgate"): Outcome {
  const denials: string[] = [];
  const warnings: string[] = [];
  const other: string[] = [];
  let inTollgateDenial = false;
  for (const line of result.stderr.split("\n")) {
    if (side === "apiserver") {
      const warning = APISERVER_WARNING.exec(line);
      const denial = APISERVER_DENIAL.exec(line);
      if (warning) warnings.push(`${warning[1]}: ${warning[2]}`);
      else if (denial) denials.push(`${denial[1]}: ${denial[2]}`);
      else if (!isFraming(line)) other.push(line);
      continue;
    }
    if (TOLLGATE_HEADER.test(line)) {
      inTollgateDenial = true;
      continue;
    }
    const denial = inTollgateDenial ? TOLLGATE_DENIAL.exec(line) : null;
    const warning = TOLLGATE_WARNING.exec(line);
    if (denial) {
      const body = denial[2]!;
      const fix = body.lastIndexOf(FIX);
      let message = fix === -1 ? body : body.slice(0, fix);
      if (message.startsWith(TOLLGATE_FAILED_PREFIX)) message = message.slice(TOLLGATE_FAILED_PREFIX.length);
      denials.push(`${denial[1]}: ${message}`);
    } else if (warning) {
      warnings.push(`${warning[1]}: ${warning[2]}`);
    } else if (!isFraming(line)) {
      inTollgateDenial = false;
      other.push(line);
    }
  }
  const denied = result.code !== 0;
  return {
    verdict: denied ? "denied" : warnings.length > 0 ? "warned" : "allowed",
    denials: denials.sort(),
    warnings: warnings.sort(),
    reason: denied ? reasonOf(result.stderr) : undefined,
    other: denied && denials.length === 0 ? [...other, `(exit ${result.code})`] : other,
  };
}

// ---------------------------------------------------------------------------------------------
// Sending the objects

let cp: ControlPlane;
let work: string;

/** kubectl's answer as alice: a server-side dry-run apply, or a dry-run PUT to a subresource. */
async function judge(object: CorpusObject): Promise<KubectlResult> {
  if (object.subresource === undefined) {
    return cp.kubectl(["apply", "--dry-run=server", "-f", "-"], { user: true, input: object.text });
  }
  const plural = `${object.kind.toLowerCase()}s`;
  const base = object.apiVersion.includes("/") ? `/apis/${object.apiVersion}` : `/api/${object.apiVersion}`;
  const path = `${base}/namespaces/${object.namespace}/${plural}/${object.name}/${object.subresource}?dryRun=All`;
  // As the admin: alice's `edit` role does not grant pods/ephemeralcontainers (kubectl debug).
  const res = await cp.request("PUT", path, { body: yaml.load(object.text) });
  const warnings = res.warnings.map((text) => `Warning: ${text}`);
  if (res.status >= 200 && res.status < 300) return { code: 0, stdout: "", stderr: warnings.join("\n") };
  const status = JSON.parse(res.body) as { reason?: string; message?: string };
  const error = `Error from server (${status.reason ?? res.status}): ${status.message ?? res.body}`;
  return { code: 1, stdout: "", stderr: [...warnings, ...error.split("\n")].join("\n") };
}

async function must(args: readonly string[], input?: string): Promise<string> {
  const result = await cp.kubectl(args, input === undefined ? {} : { input });
  if (result.code !== 0) throw new Error(`kubectl ${args.join(" ")} failed: ${result.stderr}`);
  return result.stdout;
}

/**
 * A policy of the test's own that denies one ConfigMap name: applied after a corpus policy, it is in
 * force only once the apiserver's informers have seen what came before it (the corpus policy and
 * its bindings); Audit-only policies give no other sign of being in force.
 */
const SENTINEL = "corpus-sentinel";
const SENTINEL_YAML = `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: ${SENTINEL}}
spec:
  matchConstraints:
    resourceRules:
      - {apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [configmaps]}
  validations:
    - expression: "object.metadata.name != '${SENTINEL}'"
      message: "sentinel"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: ${SENTINEL}}
spec:
  policyName: ${SENTINEL}
  validationActions: [Deny]
`;

async function sentinelDenies(): Promise<boolean> {
  const result = await cp.kubectl(["create", "configmap", SENTINEL, "-n", "vap-params", "--dry-run=server"]);
  return result.code !== 0 && result.stderr.includes(`ValidatingAdmissionPolicy '${SENTINEL}'`);
}

async function waitForSentinel(denies: boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while ((await sentinelDenies()) !== denies) {
    if (Date.now() > deadline)
      throw new Error(`the sentinel policy did not ${denies ? "start" : "stop"} denying in 60 s`);
    await sleep(250);
  }
}

/** Phase 1: each policy folder as real VAPs, bindings and params; nothing else speaks. */
async function judgeByApiserver(folder: PolicyFolder, results: Map<string, Outcome>): Promise<void> {
  const policyFile = join(folder.dir, "policy.yaml");
  await must(["apply", "-f", policyFile]);
  await must(["apply", "-f", "-"], SENTINEL_YAML);
  await waitForSentinel(true);
  for (const object of folder.objects) results.set(object.key, outcomeOf(await judge(object), "apiserver"));
  await must(["delete", "--wait", "-f", policyFile]);
  await must(["delete", "validatingadmissionpolicybinding,validatingadmissionpolicy", SENTINEL, "--wait"]);
  await waitForSentinel(false);
}

function reloadsApplied(exposition: string): number {
  const line = exposition
    .split("\n")
    .find((l) => l.startsWith('tollgate_config_reloads_total{result="applied"}'));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
}

const CORPUS_CONFIG = readFileSync(join(CORPUS, "tollgate.yaml"), "utf8");

function configFor(folder: PolicyFolder): string {
  const dir = join(work, folder.name);
  mkdirSync(dir, { recursive: true });
  const copy = join(dir, "policy.yaml");
  writeFileSync(copy, readFileSync(join(folder.dir, "policy.yaml")));
  return `${CORPUS_CONFIG}policies: [${JSON.stringify(copy)}]\n`;
}

/** `group/resource` of every resource rule of the folder's policies. */
function resourcesSelected(folder: PolicyFolder): string[] {
  const wanted = new Set<string>();
  for (const document of yaml.loadAll(readFileSync(join(folder.dir, "policy.yaml"), "utf8"))) {
    const policy = document as {
      kind?: string;
      spec?: { matchConstraints?: { resourceRules?: { apiGroups?: string[]; resources?: string[] }[] } };
    };
    if (policy?.kind !== "ValidatingAdmissionPolicy") continue;
    for (const rule of policy.spec?.matchConstraints?.resourceRules ?? [])
      for (const group of rule.apiGroups ?? [])
        for (const resource of rule.resources ?? []) wanted.add(`${group}/${resource}`);
  }
  return [...wanted].sort();
}

/** `group/resource` of every rule of tollgate's webhook configuration in the apiserver, and its version. */
async function resourcesRegistered(): Promise<{ resources: Set<string>; version: string }> {
  const json = await must(["get", "validatingwebhookconfiguration", "tollgate", "-o", "json"]);
  const configuration = JSON.parse(json) as {
    metadata: { resourceVersion: string };
    webhooks: { rules?: { apiGroups?: string[]; resources?: string[] }[] }[];
  };
  const resources = new Set<string>();
  for (const webhook of configuration.webhooks)
    for (const rule of webhook.rules ?? [])
      for (const group of rule.apiGroups ?? [])
        for (const resource of rule.resources ?? []) resources.add(`${group}/${resource}`);
  return { resources, version: configuration.metadata.resourceVersion };
}

/**
 * Waits until tollgate's registration sends it what the folder's policies select (serve widens
 * its webhook rules on a reload). When it had to change them, the apiserver's own cache of webhook
 * configurations is given a moment to see the change.
 */
async function waitForRegistration(folder: PolicyFolder, versionBefore: string): Promise<void> {
  const wanted = resourcesSelected(folder);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { resources, version } = await resourcesRegistered();
    if (wanted.every((resource) => resources.has(resource))) {
      if (version !== versionBefore) await sleep(1_000);
      return;
    }
    if (Date.now() > deadline) {
      const missing = wanted.filter((resource) => !resources.has(resource));
      throw new Error(`tollgate's webhook rules never selected ${missing.join(", ")} for ${folder.name}`);
    }
    await sleep(200);
  }
}

/** Phase 2: tollgate with one policy folder at a time (the config reloaded between folders). */
async function judgeByTollgate(results: Map<string, Outcome>): Promise<void> {
  let tollgate: Tollgate | undefined;
  try {
    for (const folder of CORPUS_FOLDERS) {
      const config = configFor(folder);
      if (tollgate === undefined) {
        tollgate = await startTollgate(cp, { config });
        await waitForWebhook(cp);
        await waitForRegistration(folder, "");
      } else {
        const { version } = await resourcesRegistered();
        const before = reloadsApplied(await tollgate.metrics());
        writeFileSync(join(cp.dir, "tollgate.yaml"), config);
        const deadline = Date.now() + 30_000;
        while (reloadsApplied(await tollgate.metrics()) === before) {
          if (Date.now() > deadline)
            throw new Error(`tollgate did not reload its config for ${folder.name}; see ${tollgate.logFile}`);
          await sleep(200);
        }
        await waitForRegistration(folder, version);
      }
      for (const object of folder.objects)
        results.set(object.key, outcomeOf(await judge(object), "tollgate"));
    }
  } finally {
    await tollgate?.stop();
  }
}

const byApiserver = new Map<string, Outcome>();
const byTollgate = new Map<string, Outcome>();

describe("ValidatingAdmissionPolicies: tollgate against the apiserver, object by object", () => {
  beforeAll(async () => {
    cp = await startControlPlane();
    work = mkdtempSync(join(tmpdir(), "tollgate-vap-corpus-"));
    await cp.createNamespace(TOLLGATE_NAMESPACE);
    for (const document of yaml.loadAll(readFileSync(join(CORPUS, "cluster", "namespaces.yaml"), "utf8"))) {
      const { metadata } = document as { metadata: { name: string; labels: Record<string, string> } };
      await cp.createNamespace(metadata.name, metadata.labels);
    }
    // Namespace annotations (namespaceObject reads one) are not createNamespace's.
    await must(["apply", "-f", join(CORPUS, "cluster", "namespaces.yaml")]);
    await must(["apply", "-f", join(CORPUS, "cluster", "crds.yaml")]);
    await must([
      "wait",
      "--for",
      "condition=Established",
      "--timeout",
      "60s",
      "crd/registrypolicies.corpus.tollgate.dev",
    ]);
    for (const folder of CORPUS_FOLDERS) {
      if (existsSync(join(folder.dir, "existing"))) await must(["apply", "-f", join(folder.dir, "existing")]);
    }
    for (const folder of CORPUS_FOLDERS) await judgeByApiserver(folder, byApiserver);
    await judgeByTollgate(byTollgate);
  }, BUILD_AND_START_TIMEOUT_MS);

  afterAll(async () => {
    await cp?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("has at least 25 policies, each with an object the apiserver denies or warns about but Audit's", () => {
    expect(CORPUS_FOLDERS.length).toBeGreaterThanOrEqual(25);
    const silent = CORPUS_FOLDERS.filter(
      (folder) =>
        folder.name !== "audit-only" &&
        folder.objects.every((object) => byApiserver.get(object.key)?.verdict === "allowed"),
    ).map((folder) => folder.name);
    expect(silent).toEqual([]);
  });

  it("explains every answer of the apiserver: no denial without a policy's message, nothing unknown printed", () => {
    const unexplained = [...byApiserver]
      .filter(([, outcome]) => outcome.other.some((line) => !line.startsWith("Warning: ")))
      .map(([key, outcome]) => ({ key, other: outcome.other }));
    expect(unexplained).toEqual([]);
  });

  it("never denies nor warns for a binding whose only action is Audit, on either side", () => {
    const audited = CORPUS_FOLDERS.find((folder) => folder.name === "audit-only")!;
    for (const object of audited.objects) {
      expect(byApiserver.get(object.key)).toMatchObject({ verdict: "allowed", warnings: [] });
      expect(byTollgate.get(object.key)).toMatchObject({ verdict: "allowed", warnings: [] });
    }
  });

  for (const folder of CORPUS_FOLDERS) {
    describe(folder.name, () => {
      for (const object of folder.objects) {
        const bug = BUGS[object.key];
        const documented = DOCUMENTED_MESSAGE_DIFFERENCES[object.key];
        const test = bug === undefined ? it : it.fails;
        test(`${object.key.slice(folder.name.length + 1)}${bug ? ` (bug: ${bug})` : ""}`, () => {
          const apiserver = byApiserver.get(object.key)!;
          const tollgate = byTollgate.get(object.key)!;
          expect({ verdict: tollgate.verdict, warnings: tollgate.warnings, other: tollgate.other }).toEqual({
            verdict: apiserver.verdict,
            warnings: apiserver.warnings,
            other: apiserver.other,
          });
          if (documented !== undefined) {
            expect(tollgate.denials, `documented difference: ${documented.why}`).not.toEqual(
              apiserver.denials,
            );
            expect(tollgate.denials.map(documented.undo)).toEqual(apiserver.denials);
            return;
          }
          // The apiserver names the first validation that failed (docs/policies.md, Semantics);
          // tollgate lists every one: its denials hold the apiserver's, of the same policy.
          expect(tollgate.denials.length > 0).toBe(apiserver.denials.length > 0);
          expect(tollgate.denials).toEqual(expect.arrayContaining(apiserver.denials));
          const policies = (denials: string[]) => [
            ...new Set(denials.map((d) => d.slice(0, d.indexOf(":")))),
          ];
          expect(policies(tollgate.denials)).toEqual(policies(apiserver.denials));
        });
      }
    });
  }

  it("the corpus's tollgate-test.yaml files expect the apiserver's verdicts and messages, but where adapted", () => {
    const mismatches: unknown[] = [];
    for (const folder of CORPUS_FOLDERS) {
      const suite = yaml.load(readFileSync(join(folder.dir, "tollgate-test.yaml"), "utf8")) as {
        cases: {
          object: string;
          oldObject?: string;
          expect: { verdict: Verdict; rules?: string[]; message?: string };
        }[];
      };
      const existing = existsSync(join(folder.dir, "existing"))
        ? readdirSync(join(folder.dir, "existing")).map((file) => {
            const where = join(folder.dir, "existing", file);
            const { kind, namespace, name } = parseObject(readFileSync(where, "utf8"), where);
            return { file: `existing/${file}`, id: `${kind}/${namespace}/${name}` };
          })
        : [];
      expect(suite.cases.map((c) => `${folder.name}/${c.object}`)).toEqual(folder.objects.map((o) => o.key));
      for (const [index, testCase] of suite.cases.entries()) {
        const object = folder.objects[index]!;
        const apiserver = byApiserver.get(object.key)!;
        const messages = [...apiserver.denials, ...apiserver.warnings].map((m) =>
          m.slice(m.indexOf(": ") + 2),
        );
        const old = existing.find((e) => e.id === `${object.kind}/${object.namespace}/${object.name}`)?.file;
        const adapted = OFFLINE_ADAPTED_VERDICTS[object.key] !== undefined;
        const wrong = {
          oldObject: testCase.oldObject !== old,
          verdict: !adapted && testCase.expect.verdict !== apiserver.verdict,
          rules:
            !adapted &&
            JSON.stringify(testCase.expect.rules) !==
              JSON.stringify(apiserver.verdict === "allowed" ? [] : [folder.name]),
          message:
            !adapted &&
            testCase.expect.message !== undefined &&
            !messages.some((message) => message.includes(testCase.expect.message!)),
        };
        if (Object.values(wrong).some(Boolean))
          mismatches.push({ key: object.key, wrong, expect: testCase.expect, apiserver });
      }
    }
    expect(mismatches).toEqual([]);
  });

  it("passes `node dist/src/main.js test test/fixtures/vap-corpus` offline: exit 0", async () => {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [TOLLGATE_MAIN, "test", CORPUS]);
    const cases = CORPUS_FOLDERS.reduce((sum, folder) => sum + folder.objects.length, 0);
    expect(stderr).toBe("");
    expect(stdout.endsWith(`\n${cases} cases: ${cases} passed, 0 failed\n`)).toBe(true);
  });

  // The apiserver answers with the validation's reason, Invalid (422) by default; so does tollgate.
  it("gives a denial the status reason the apiserver gives it", () => {
    const reasons = (results: Map<string, Outcome>) =>
      Object.fromEntries(
        [...results]
          .filter(([key]) => BUGS[key] === undefined)
          .map(([key, outcome]) => [key, outcome.reason]),
      );
    expect(reasons(byTollgate)).toEqual(reasons(byApiserver));
    expect(Object.values(reasons(byApiserver))).toEqual(expect.arrayContaining(["Invalid", "Forbidden"]));
  });
});
