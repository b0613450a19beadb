import { readdir, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { checkRuleIds, ConfigError, DEFAULT_CONFIG, loadConfigFile } from "../config/load.js";
import { compilePolicy } from "../engine/policy.js";
import { type InputError, loadManifests, describeInputError } from "../input/documents.js";
import { createMetrics } from "../metrics.js";
import { attrs, escapeXml } from "../report/junit.js";
import { RULES } from "../rules/index.js";
import type { ClusterFacts } from "../rules/types.js";
import { buildPolicySet } from "../vap/load.js";
import { namespacesIn } from "../objects/object.js";
import { type CaseResult, runCase } from "../testing/run.js";
import { loadSuite, SUITE_FILE } from "../testing/suite.js";
import { parseCommandArgs, UsageError } from "./args.js";
import { type CliIO, processIO } from "./io.js";

export const TEST_HELP = `Usage: tollgate test [FILE|DIR...] [--output text|json|junit]

Runs the cases of ${SUITE_FILE} files through the webhook's own path (an AdmissionReview in, the
response out), so that a green run means the same verdict at kubectl apply. A folder is searched
recursively for ${SUITE_FILE}; the default is the current folder.

  cases:
    - name: root pod is denied
      object: cases/pod-root.yaml     # paths are relative to the test file
      oldObject: cases/pod-old.yaml   # optional; makes it an UPDATE
      namespace: team-a               # optional; the object's own otherwise
      userInfo: {username: alice}     # optional
      mode: enforce                   # enforce (default) or warn
      expect:
        verdict: denied               # allowed | denied | warned
        rules: [run-as-root]          # optional: exactly the rules that fire
        message: runAsNonRoot         # optional: part of the denial or a warning

A suite may name ValidatingAdmissionPolicies (\`policies: [policies/]\`: policies, bindings,
params), objects that exist already (\`resources: [cluster/]\`: the Namespaces that namespace
selectors and namespaceObject read, params), and a tollgate config (\`config: tollgate.yaml\`) for
severities and exemptions.

Exit codes: 0 every case passed, 1 a case failed, 2 an input error (file, line, field).`;

const OUTPUTS = ["text", "json", "junit"] as const;
type Output = (typeof OUTPUTS)[number];

/** The suites a path names: the file itself, or every ${SUITE_FILE} below a folder (hidden ones skipped). */
async function suitesUnder(path: string, errors: InputError[]): Promise<string[]> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    errors.push({
      file: path,
      line: null,
      message: `cannot read (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    });
    return [];
  }
  if (!info.isDirectory()) return [path];
  const found: string[] = [];
  for (const entry of (await readdir(path, { withFileTypes: true })).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
    const child = join(path, entry.name);
    if (entry.isDirectory()) found.push(...(await suitesUnder(child, errors)));
    else if (entry.name === SUITE_FILE) found.push(child);
  }
  return found;
}

interface SuiteRun {
  file: string;
  results: CaseResult[];
}

function renderText(runs: readonly SuiteRun[]): string {
  const lines: string[] = [];
  let passed = 0;
  let failed = 0;
  for (const run of runs) {
    for (const result of run.results) {
      if (result.passed) {
        passed++;
        lines.push(`PASS ${result.case.name}`);
        continue;
      }
      failed++;
      lines.push(`FAIL ${result.case.name} (${result.case.at})`);
      for (const failure of result.failures) lines.push(`     ${failure}`);
      for (const line of result.got.message.split("\n").filter(Boolean).slice(0, 4))
        lines.push(`     denial: ${line}`);
      for (const warning of result.got.warnings.slice(0, 5)) lines.push(`     warning: ${warning}`);
    }
  }
  lines.push(
    "",
    `${passed + failed} case${passed + failed === 1 ? "" : "s"}: ${passed} passed, ${failed} failed`,
  );
  return `${lines.join("\n")}\n`;
}

function renderJson(runs: readonly SuiteRun[]): string {
  const cases = runs.flatMap((run) =>
    run.results.map((result) => ({
      name: result.case.name,
      file: run.file,
      at: result.case.at,
      passed: result.passed,
      expected: result.case.expect,
      got: result.got,
      failures: result.failures,
    })),
  );
  const failed = cases.filter((entry) => !entry.passed).length;
  return `${JSON.stringify({ cases, summary: { cases: cases.length, passed: cases.length - failed, failed } }, null, 2)}\n`;
}

function renderJunit(runs: readonly SuiteRun[]): string {
  const suites = runs.map((run) => {
    const failures = run.results.filter((result) => !result.passed).length;
    const cases = run.results.map((result) => {
      const head = `    <testcase${attrs({ name: result.case.name, classname: run.file })}`;
      if (result.passed) return `${head}/>`;
      const text = result.failures.join("\n");
      return `${head}>\n      <failure${attrs({ message: result.failures[0] ?? "failed" })}>${escapeXml(text)}</failure>\n    </testcase>`;
    });
    return `  <testsuite${attrs({ name: run.file, tests: run.results.length, failures })}>\n${cases.join("\n")}\n  </testsuite>`;
  });
  const all = runs.flatMap((run) => run.results);
  const failures = all.filter((result) => !result.passed).length;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites${attrs({ name: "tollgate test", tests: all.length, failures })}>\n${suites.join("\n")}\n</testsuites>\n`;
}

export async function runTests(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    "test",
    argv,
    { output: { type: "string" }, help: { type: "boolean", short: "h" } },
    true,
  );
  if (values.help) {
    io.stdout.write(`${TEST_HELP}\n`);
    return 0;
  }
  const output = (values.output ?? "text") as Output;
  if (!OUTPUTS.includes(output)) {
    throw new UsageError(
      `--output must be one of ${OUTPUTS.join(", ")}, got ${JSON.stringify(values.output)}`,
    );
  }
  const errors: InputError[] = [];
  const files: string[] = [];
  for (const path of positionals.length > 0 ? positionals : ["."])
    files.push(...(await suitesUnder(resolve(path), errors)));
  if (files.length === 0 && errors.length === 0) {
    errors.push({ file: resolve(positionals[0] ?? "."), line: null, message: `no ${SUITE_FILE} found` });
  }
  const runs: SuiteRun[] = [];
  const metrics = createMetrics();
  for (const file of files) {
    const loaded = await loadSuite(file);
    if ("errors" in loaded) {
      errors.push(...loaded.errors);
      continue;
    }
    const { suite } = loaded;
    let config = DEFAULT_CONFIG;
    try {
      if (suite.config !== undefined) config = loadConfigFile(suite.config);
      const known = new Set(RULES.keys());
      // Policies, their params and the objects that exist already (Namespaces) are read together:
      // a param may sit among the resources.
      const read = await loadManifests(
        [...config.policies, ...suite.policies, ...suite.resources],
        () => Promise.reject(new Error("no stdin here")),
        (source) => source,
      );
      const built = buildPolicySet(read.objects, known);
      if (read.errors.length > 0 || built.errors.length > 0) {
        errors.push(...read.errors, ...built.errors);
        continue;
      }
      if (suite.config !== undefined) {
        checkRuleIds(config, new Set([...known, ...built.set.policies.map((vap) => vap.name)]), suite.config);
      }
      const policy = compilePolicy(config, RULES, undefined, built.set);
      const namespaces = namespacesIn(read.objects.map((source) => source.object));
      const facts: ClusterFacts = {
        hasDefaultDenyIngress: () => undefined,
        pdbSelects: () => undefined,
        namespace: (name) => namespaces.get(name),
      };
      runs.push({
        file,
        results: suite.cases.map((testCase, index) => runCase(testCase, index, policy, metrics, facts)),
      });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      errors.push({ file, line: null, message: error.message });
    }
  }
  if (errors.length > 0) {
    for (const error of errors) {
      io.stderr.write(`tollgate test: ${describeInputError(error)}\n`);
    }
    return 2;
  }
  io.stdout.write(
    output === "json" ? renderJson(runs) : output === "junit" ? renderJunit(runs) : renderText(runs),
  );
  return runs.every((run) => run.results.every((result) => result.passed)) ? 0 : 1;
}

export function test(argv: string[]): Promise<number> {
  return runTests(argv, processIO());
}
