import { describe, expect, test } from "vitest";
import { CHECK_HELP, runCheck } from "../../src/cli/check.js";
import { captureIO } from "./helpers.js";

const TREE = "test/fixtures/check/tree";
const BROKEN = "test/fixtures/check/broken";

interface JsonReport {
  findings: {
    rule: string;
    severity: string;
    kind: string;
    namespace: string;
    name: string;
    file: string | null;
    line: number | null;
    path: string;
    container: string | null;
    message: string;
    fix: string;
  }[];
  errors: { file: string | null; line: number | null; message: string }[];
  notes: string[];
  summary: Record<string, number>;
  notCovered: { kind: string | null; apiVersion: string | null; count: number }[];
  exempted: (JsonReport["findings"][number] & { exemption: unknown })[];
  score: { score: number; checked: number; clean: number; groups: unknown[] };
}

async function check(args: string[], options: Parameters<typeof captureIO>[0] = {}) {
  const captured = captureIO(options);
  const code = await runCheck(args, captured.io);
  return { code, stdout: captured.stdout(), stderr: captured.stderr() };
}

async function checkJson(args: string[], options: Parameters<typeof captureIO>[0] = {}) {
  const result = await check([...args, "--output", "json"], options);
  return { ...result, report: JSON.parse(result.stdout) as JsonReport };
}

/** A Pod that breaks run-as-root and nothing else, with these annotations. */
function exemptablePod(annotations: string[]): string {
  return [
    "apiVersion: v1",
    "kind: Pod",
    "metadata:",
    "  name: legacy",
    "  namespace: shop",
    "  annotations:",
    ...annotations.map((line) => `    ${line}`),
    "spec:",
    "  serviceAccountName: legacy",
    "  automountServiceAccountToken: false",
    "  securityContext: {runAsNonRoot: false, seccompProfile: {type: RuntimeDefault}}",
    "  containers:",
    "    - name: app",
    "      image: registry.example.com/app:1.0.0",
    "      resources: {requests: {cpu: 10m, memory: 16Mi}, limits: {cpu: 10m, memory: 16Mi}}",
    "      livenessProbe: {tcpSocket: {port: 80}}",
    "      readinessProbe: {tcpSocket: {port: 80}}",
    "      securityContext:",
    "        allowPrivilegeEscalation: false",
    "        readOnlyRootFilesystem: true",
    '        capabilities: {drop: ["ALL"]}',
    "",
  ].join("\n");
}

describe("tollgate check", () => {
  test("in a kustomize folder, leaves out the files its generators read, and reads everything else", async () => {
    const folder = "test/fixtures/check/kustomize";
    const { code, report } = await checkJson([folder]);
    // A stray YAML with neither apiVersion nor kind is some other tool's file: named, skipped.
    expect(report.errors).toEqual([]);
    expect(report.notCovered).toEqual([
      { kind: "Kustomization", apiVersion: "kustomize.config.k8s.io/v1beta1", count: 1 },
      { kind: "Service", apiVersion: "v1", count: 1 },
      { kind: null, apiVersion: null, count: 1 },
    ]);
    expect(code).toBe(0);
    expect(report.summary).toMatchObject({ files: 3, objects: 2, findings: 0, notCovered: 3 });
    const text = await check([folder]);
    expect(text.stdout).toBe(
      [
        "not Kubernetes objects (skipped):",
        `  ${folder}/nested/stray.yaml:2: the document has no apiVersion and no kind, so`,
        "    no rule can check it",
        "",
        "no findings in 0 objects in 3 files (enforce mode)",
        "3 objects not covered: Kustomization (kustomize.config.k8s.io/v1beta1), Service (v1), 1 document",
        "  without apiVersion and kind",
        "",
      ].join("\n"),
    );
    // Named on the command line, a generator's file is read like any other: alone, it holds no
    // object, so nothing was checked (exit 2).
    const named = await checkJson([`${folder}/settings.yaml`]);
    expect(named.report.errors).toEqual([
      {
        file: null,
        line: null,
        message: "no Kubernetes object in the input (1 file, 1 document); nothing was checked",
      },
    ]);
    expect(named.code).toBe(2);
  });

  test("walks a folder tree: .yaml, .yml and .json, not README.md or hidden folders", async () => {
    const { code, report } = await checkJson([TREE]);
    expect(code).toBe(1);
    expect(report.summary).toEqual({
      files: 3,
      documents: 4,
      objects: 4,
      skipped: 0,
      findings: 5,
      deny: 5,
      warn: 0,
      errors: 0,
      notCovered: 0,
      exempted: 0,
    });
    expect(report.score).toEqual({
      score: 25,
      checked: 4,
      clean: 1,
      groups: [
        { group: `${TREE}/apps/nested/db.yml`, score: 0, checked: 1, clean: 0 },
        { group: `${TREE}/rbac.json`, score: 0, checked: 1, clean: 0 },
        { group: `${TREE}/apps/web.yaml`, score: 50, checked: 2, clean: 1 },
      ],
    });
    expect(report.findings.map((f) => [f.file, f.line, f.rule, f.path])).toEqual([
      [
        `${TREE}/apps/nested/db.yml`,
        29,
        "container-limits-missing",
        "spec.template.spec.containers[name=db].resources.limits",
      ],
      [
        `${TREE}/apps/web.yaml`,
        69,
        "privileged-container",
        "spec.containers[name=shell].securityContext.privileged",
      ],
      [
        `${TREE}/apps/web.yaml`,
        65,
        "run-as-root",
        "spec.containers[name=shell].securityContext.runAsNonRoot",
      ],
      [
        `${TREE}/apps/web.yaml`,
        65,
        "privilege-escalation-allowed",
        "spec.containers[name=shell].securityContext.allowPrivilegeEscalation",
      ],
      [`${TREE}/rbac.json`, 16, "rbac-wildcard", "rules[1].verbs"],
    ]);
  });

  test("each finding has the contract's keys, container null when there is none", async () => {
    const { report } = await checkJson([`${TREE}/rbac.json`, `${TREE}/apps/web.yaml`]);
    expect(report.findings[0]).toEqual({
      rule: "rbac-wildcard",
      severity: "deny",
      kind: "ClusterRole",
      namespace: "",
      name: "everything",
      file: `${TREE}/rbac.json`,
      line: 16,
      path: "rules[1].verbs",
      container: null,
      message: 'rule 1 grants "*" in verbs',
      fix: 'list the verbs the subject needs instead of "*" in rules[1]',
    });
    expect(report.findings[1]).toMatchObject({
      kind: "Pod",
      namespace: "shop",
      name: "debug",
      container: "shell",
    });
  });

  test("broken YAML names file and line; the documents after it and the other files are still checked", async () => {
    const { code, report } = await checkJson([BROKEN]);
    expect(code).toBe(2);
    expect(report.errors).toEqual([
      {
        file: `${BROKEN}/b-broken.yaml`,
        line: 10,
        message: "invalid YAML: bad indentation of a mapping entry",
      },
      {
        file: `${BROKEN}/c-no-kind.yaml`,
        line: 1,
        message: "the document has no kind, so no rule can check it",
      },
      {
        file: `${BROKEN}/c-no-kind.yaml`,
        line: 5,
        message: "the document is a list, not a Kubernetes object (a mapping with apiVersion and kind)",
      },
    ]);
    expect(report.findings.map((f) => [f.name, f.line])).toEqual([["after-the-break", 18]]);
    expect(report.summary).toMatchObject({ files: 3, documents: 5, objects: 3, errors: 3, deny: 1 });
  });

  test("reads stdin with -, multi-document and List items with their own lines", async () => {
    const stdin = [
      "apiVersion: v1",
      "kind: List",
      "items:",
      "  - apiVersion: rbac.authorization.k8s.io/v1",
      "    kind: ClusterRole",
      "    metadata: {name: one}",
      "    rules: [{apiGroups: [''], resources: ['*'], verbs: [get]}]",
      "---",
      "apiVersion: v1",
      "kind: PodList",
      "items:",
      "  - metadata: {name: typed}",
      "    spec:",
      "      containers:",
      "        - name: app",
      "          image: app:1",
      "          securityContext: {privileged: true}",
      "",
    ].join("\n");
    const { code, report } = await checkJson(["-"], { stdin });
    expect(code).toBe(1);
    expect(report.summary).toMatchObject({ files: 1, documents: 2, objects: 2 });
    const located = report.findings.map((f) => [f.file, f.kind, f.name, f.rule, f.line]);
    expect(located).toContainEqual(["<stdin>", "ClusterRole", "one", "rbac-wildcard", 7]);
    expect(located).toContainEqual(["<stdin>", "Pod", "typed", "privileged-container", 17]);
  });

  test("an object with two containers of one name is an input error, as the apiserver's, and not judged", async () => {
    const stdin = [
      "apiVersion: apps/v1",
      "kind: Deployment",
      "metadata: {name: web, namespace: shop}",
      "spec:",
      "  template:",
      "    spec:",
      "      initContainers:",
      "        - {name: setup, image: app:1}",
      "      containers:",
      "        - {name: web, image: app:1}",
      "        - {name: setup, image: app:2}",
      "",
    ].join("\n");
    const { code, report } = await checkJson(["-"], { stdin });
    expect(code).toBe(2);
    expect(report.errors).toEqual([
      {
        file: "<stdin>",
        line: 11,
        message:
          'Deployment shop/web is invalid: spec.template.spec.containers[1].name: Duplicate value: "setup"; the apiserver refuses it, so it was not checked',
      },
    ]);
    expect(report.findings).toEqual([]);
    expect(report.summary).toMatchObject({ objects: 1, skipped: 1, errors: 1, notCovered: 0 });
  });

  test("exit 0 when no finding denies", async () => {
    const { code, report } = await checkJson([`${BROKEN}/a-good.yaml`]);
    expect(report.findings).toEqual([]);
    expect(code).toBe(0);
  });

  test("a Secret with data or stringData in a checked file is a warning (check only)", async () => {
    const stdin = [
      "apiVersion: v1",
      "kind: Secret",
      "metadata: {name: db, namespace: shop}",
      "type: Opaque",
      "data:",
      "  username: YXBw",
      "  password: czNjcjN0",
      "stringData:",
      "  url: postgres://db:5432/app",
      "---",
      "apiVersion: v1",
      "kind: Secret",
      "metadata: {name: empty, namespace: shop}",
      "data: {}",
      "",
    ].join("\n");
    const { code, report } = await checkJson(["-"], { stdin });
    expect(code).toBe(0);
    expect(report.findings).toEqual([
      {
        rule: "secret-data-in-manifest",
        severity: "warn",
        kind: "Secret",
        namespace: "shop",
        name: "db",
        file: "<stdin>",
        line: 5,
        path: "data",
        container: null,
        message: "Secret holds 2 values in data (username, password)",
        fix: "deliver the values with External Secrets (or Sealed Secrets/SOPS), not in the manifest",
      },
      {
        rule: "secret-data-in-manifest",
        severity: "warn",
        kind: "Secret",
        namespace: "shop",
        name: "db",
        file: "<stdin>",
        line: 8,
        path: "stringData",
        container: null,
        message: "Secret holds 1 value in stringData (url)",
        fix: "deliver the values with External Secrets (or Sealed Secrets/SOPS), not in the manifest",
      },
    ]);
    expect(report.summary).toMatchObject({ objects: 2, findings: 2, deny: 0, warn: 2 });
  });

  test("warn mode turns every finding into a warning and exits 0", async () => {
    const { code, report } = await checkJson([TREE, "--mode", "warn"]);
    expect(code).toBe(0);
    expect(report.findings.map((f) => f.severity)).toEqual(["warn", "warn", "warn", "warn", "warn"]);
    expect(report.summary).toMatchObject({ deny: 0, warn: 5 });
  });

  test("the config's severities apply", async () => {
    const { code, report } = await checkJson([TREE, "--config", "test/fixtures/check/config-lenient.yaml"]);
    expect(report.findings.map((f) => [f.rule, f.severity])).toEqual([
      ["container-limits-missing", "warn"],
      ["privileged-container", "deny"],
      ["run-as-root", "deny"],
      ["privilege-escalation-allowed", "deny"],
    ]);
    expect(code).toBe(1);
  });

  test("a missing path is an input error (exit 2), the others are still checked", async () => {
    const { code, report } = await checkJson(["no/such/dir", `${TREE}/rbac.json`]);
    expect(code).toBe(2);
    expect(report.errors).toEqual([{ file: "no/such/dir", line: null, message: "no such file or folder" }]);
    expect(report.findings).toHaveLength(1);
  });

  test.each([
    [[], "tollgate check: give files, folders, or - to read stdin"],
    [
      [TREE, "--output", "xml"],
      'tollgate check: --output must be one of text, json, sarif, junit, html, got "xml"',
    ],
    [[TREE, "--mode", "audit"], 'tollgate check: --mode must be one of enforce, warn, got "audit"'],
    [[TREE, "--bogus"], "tollgate check: unknown option --bogus"],
    [[TREE, "--ouput", "json"], "tollgate check: unknown option --ouput (did you mean --output?)"],
    [[TREE, "--polcy", "p.yaml"], "tollgate check: unknown option --polcy (did you mean --policy?)"],
    [[TREE, "-x"], "tollgate check: unknown option -x"],
    [[TREE, "--output"], "tollgate check: --output needs a value"],
    [[TREE, "-o"], "tollgate check: -o needs a value"],
    [["--output", "--mode", "warn", TREE], "tollgate check: --output needs a value"],
    [[TREE, "--help=yes"], "tollgate check: --help takes no value"],
  ])("usage error %j exits 2 and says why, then where the usage is", async (args, message) => {
    const { code, stdout, stderr } = await check(args);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toBe(`${message}\nRun 'tollgate check --help' for usage.\n`);
  });

  test("a config that does not exist exits 2 naming it", async () => {
    const { code, stderr } = await check([TREE, "--config", "missing.yaml"]);
    expect(code).toBe(2);
    expect(stderr).toBe("tollgate check: missing.yaml: cannot read the config file (ENOENT)\n");
  });

  test("--help prints the exit codes", async () => {
    const { code, stdout } = await check(["--help"]);
    expect(code).toBe(0);
    expect(stdout).toContain("2  usage error, or an input that could not be checked");
  });

  test("--help wins over mistakes beside it: asking for help is never an error", async () => {
    const { code, stdout, stderr } = await check(["--ouput", "x", "-h", "--mode"]);
    expect(code).toBe(0);
    expect(stdout).toBe(`${CHECK_HELP}\n`);
    expect(stderr).toBe("");
  });
});

describe("narrowing the report: --rule, --skip-rule, --min-severity, --exclude", () => {
  const located = (report: JsonReport) => report.findings.map((f) => `${f.rule} ${f.name}`);

  test("--rule keeps only the rules named; the objects none of them looks at are not covered", async () => {
    const { code, report } = await checkJson([TREE, "--rule", "rbac-wildcard"]);
    expect(located(report)).toEqual(["rbac-wildcard everything"]);
    expect(report.summary).toMatchObject({ objects: 4, findings: 1, notCovered: 3 });
    expect(code).toBe(1);
  });

  test("--skip-rule leaves rules out, repeatable; exit 0 when no deny finding is left", async () => {
    const skip = ["container-limits-missing", "privileged-container", "run-as-root", "rbac-wildcard"];
    const { code, report } = await checkJson([TREE, ...skip.flatMap((id) => ["--skip-rule", id])]);
    expect(located(report)).toEqual(["privilege-escalation-allowed debug"]);
    expect(code).toBe(1);
    const all = await checkJson([
      TREE,
      ...[...skip, "privilege-escalation-allowed"].flatMap((id) => ["--skip-rule", id]),
    ]);
    expect(all.report.findings).toEqual([]);
    expect(all.code).toBe(0);
  });

  test("--min-severity deny leaves warnings out, exempted ones too", async () => {
    const { report } = await checkJson([`${TREE}/apps/web.yaml`, "--mode", "warn"]);
    expect(report.findings).toHaveLength(3);
    const denyOnly = await checkJson([`${TREE}/apps/web.yaml`, "--mode", "warn", "--min-severity", "deny"]);
    expect(denyOnly.report.findings).toEqual([]);
    expect(denyOnly.code).toBe(0);
  });

  test("--exclude leaves out files and folders relative to the folder given, not files named", async () => {
    const nested = await checkJson([TREE, "--exclude", "apps/**"]);
    expect(located(nested.report)).toEqual(["rbac-wildcard everything"]);
    expect(nested.report.summary).toMatchObject({ files: 1 });
    const byName = await checkJson([TREE, "--exclude", "nested", "--exclude", "*.json"]);
    expect(byName.report.findings.map((f) => f.file)).toEqual([
      `${TREE}/apps/web.yaml`,
      `${TREE}/apps/web.yaml`,
      `${TREE}/apps/web.yaml`,
    ]);
    // A glob relative to the folder given: `apps/*.yaml` is TREE/apps/web.yaml, not TREE/apps/nested/db.yml.
    const anchored = await checkJson([TREE, "--exclude", "apps/*.yaml"]);
    expect(anchored.report.summary).toMatchObject({ files: 2 });
    // A file named on the command line is read whatever the globs.
    const named = await checkJson([`${TREE}/rbac.json`, "--exclude", "*.json"]);
    expect(located(named.report)).toEqual(["rbac-wildcard everything"]);
  });

  test.each([
    [["--rule", "runasroot"], '--rule "runasroot" is no rule (did you mean run-as-root?)'],
    [["--skip-rule", "rbac-wildcrd"], '--skip-rule "rbac-wildcrd" is no rule (did you mean rbac-wildcard?)'],
    [["--rule", "zzz"], '--rule "zzz" is no rule'],
  ])("an unknown rule id %j is a usage error naming the nearest", async (args, message) => {
    const { code, stdout, stderr } = await check([TREE, ...args]);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toBe(
      `tollgate check: ${message}; 'tollgate rules' lists them\nRun 'tollgate check --help' for usage.\n`,
    );
  });

  test("--min-severity takes warn or deny", async () => {
    const { code, stderr } = await check([TREE, "--min-severity", "info"]);
    expect(code).toBe(2);
    expect(stderr).toBe(
      `tollgate check: --min-severity must be one of warn, deny, got "info"\nRun 'tollgate check --help' for usage.\n`,
    );
  });

  test("a policy's name is a rule id --rule knows", async () => {
    const dir = "test/fixtures/policies/team-label";
    const { report } = await checkJson([
      `${dir}/objects.yaml`,
      "--policy",
      `${dir}/policy.yaml`,
      "--rule",
      "require-team-label",
    ]);
    expect([...new Set(report.findings.map((f) => f.rule))]).toEqual(["require-team-label"]);
  });
});

describe("YAML is read as kubectl reads it (YAML 1.1 booleans, dates as strings)", () => {
  const YAML11 = "test/fixtures/check/yaml11";

  test("runAsNonRoot: yes, allowPrivilegeEscalation: off and the like are booleans: no finding", async () => {
    const { code, report } = await checkJson([`${YAML11}/unquoted.yaml`]);
    expect(report.findings).toEqual([]);
    expect(code).toBe(0);
  });

  test('quoted, "yes" and "off" are strings, which the rules do not take for true and false', async () => {
    const { code, report } = await checkJson([`${YAML11}/quoted.yaml`]);
    expect(report.findings.map((f) => [f.rule, f.line, f.path, f.message])).toEqual([
      [
        "run-as-root",
        24,
        "spec.containers[name=web].securityContext.runAsNonRoot",
        'container "web" must set securityContext.runAsNonRoot=true',
      ],
      [
        "privilege-escalation-allowed",
        25,
        "spec.containers[name=web].securityContext.allowPrivilegeEscalation",
        'container "web" must set allowPrivilegeEscalation=false',
      ],
    ]);
    expect(code).toBe(1);
  });

  test("an unquoted exempt-until date is the string the exemption needs, not a Date", async () => {
    const until = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
    const exempt = ["tollgate.dev/exempt: run-as-root", "tollgate.dev/exempt-reason: legacy image"];
    const exempted = await checkJson(["-"], {
      stdin: exemptablePod([...exempt, `tollgate.dev/exempt-until: ${until}`]),
    });
    expect(exempted.report.findings).toEqual([]);
    expect(exempted.code).toBe(0);
    // Exempted, not dropped: the finding is reported with the exemption that covers it.
    expect(exempted.report.summary.exempted).toBe(1);
    expect(exempted.report.exempted.map((f) => [f.rule, f.exemption])).toEqual([
      ["run-as-root", { source: "annotation", reason: "legacy image", until }],
    ]);
    // The same Pod without the exemption: the finding the exemption takes away is there.
    const plain = await checkJson(["-"], { stdin: exemptablePod(["team: shop"]) });
    expect(plain.report.findings.map((f) => f.rule)).toEqual(["run-as-root"]);
    expect(plain.code).toBe(1);
  });
});

describe("text output", () => {
  test("one header per object, one line per finding in line order, errors, by rule, scores, summary", async () => {
    const { stdout } = await check([TREE, `${BROKEN}/c-no-kind.yaml`]);
    expect(stdout).toBe(
      [
        `${TREE}/apps/nested/db.yml:2  StatefulSet shop/db`,
        '  29  deny  container-limits-missing  container "db" has no limits.cpu or limits.memory',
        "",
        `${TREE}/apps/web.yaml:43  Pod shop/debug`,
        '  65  deny  run-as-root  container "shell" must set securityContext.runAsNonRoot=true',
        '  65  deny  privilege-escalation-allowed  container "shell" must set allowPrivilegeEscalation=false',
        '  69  deny  privileged-container          container "shell" sets securityContext.privileged=true',
        "",
        `${TREE}/rbac.json:2  ClusterRole everything`,
        '  16  deny  rbac-wildcard  rule 1 grants "*" in verbs',
        "",
        "input errors (not checked):",
        `  error  ${BROKEN}/c-no-kind.yaml:1: the document has no kind, so no rule can check`,
        "         it",
        `  error  ${BROKEN}/c-no-kind.yaml:5: the document is a list, not a Kubernetes`,
        "         object (a mapping with apiVersion and kind)",
        "",
        "findings by rule, with the fix of each rule's first finding (--explain: every finding's own):",
        "  1 deny  container-limits-missing",
        '          fix: set resources.limits.cpu and resources.limits.memory on container "db"',
        "  1 deny  privilege-escalation-allowed",
        '          fix: set securityContext.allowPrivilegeEscalation: false on container "shell"',
        "  1 deny  privileged-container",
        '          fix: remove securityContext.privileged from container "shell"; add only the capabilities',
        "               it needs",
        "  1 deny  rbac-wildcard",
        '          fix: list the verbs the subject needs instead of "*" in rules[1]',
        "  1 deny  run-as-root",
        '          fix: set securityContext.runAsNonRoot: true on container "shell" or on the pod',
        "",
        "score by file (of the objects checked, the share with no deny finding):",
        `    0  ${TREE}/apps/nested/db.yml  (0 of 1)`,
        `    0  ${TREE}/rbac.json  (0 of 1)`,
        `   50  ${TREE}/apps/web.yaml  (1 of 2)`,
        "",
        "5 findings (5 deny, 0 warn) in 4 objects in 4 files (enforce mode), score 25; 2 errors",
        "",
      ].join("\n"),
    );
    // Every line fits the 100 columns of a CI log.
    expect(Math.max(...stdout.split("\n").map((line) => line.length))).toBeLessThanOrEqual(100);
  });

  test("--explain: each finding's field path and fix under it, no fix by rule", async () => {
    const { stdout } = await check([`${TREE}/rbac.json`, "--explain"]);
    expect(stdout).toBe(
      [
        `${TREE}/rbac.json:2  ClusterRole everything`,
        '  16  deny  rbac-wildcard  rule 1 grants "*" in verbs',
        "              at rules[1].verbs",
        '              fix: list the verbs the subject needs instead of "*" in rules[1]',
        "",
        "findings by rule:",
        "  1 deny  rbac-wildcard",
        "",
        "1 finding (1 deny, 0 warn) in 1 object in 1 file (enforce mode), score 0",
        "",
      ].join("\n"),
    );
  });

  test("a bad exemption annotation is reported under its object; a good one shows its reason and day", async () => {
    const until = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
    const unreasoned = await check(["-"], {
      stdin: exemptablePod(["tollgate.dev/exempt: run-as-root", `tollgate.dev/exempt-until: "${until}"`]),
    });
    expect(unreasoned.code).toBe(1);
    expect(unreasoned.stdout.split("\n").slice(0, 4)).toEqual([
      "<stdin>:1  Pod shop/legacy",
      "  12  deny    run-as-root  pod sets securityContext.runAsNonRoot=false",
      "      notice  exemption ignored: tollgate.dev/exempt-reason is missing",
      "",
    ]);
    const exempted = await check(["-"], {
      stdin: exemptablePod([
        "tollgate.dev/exempt: run-as-root",
        "tollgate.dev/exempt-reason: vendor image",
        `tollgate.dev/exempt-until: "${until}"`,
      ]),
    });
    expect(exempted.code).toBe(0);
    expect(exempted.stdout).toBe(
      [
        "<stdin>:1  Pod shop/legacy",
        `  13  exempt  run-as-root  vendor image, until ${until}`,
        "",
        "no findings (1 exempted) in 1 object in 1 file (enforce mode)",
        "",
      ].join("\n"),
    );
  });

  test("colour on a TTY, not with NO_COLOR, forced with FORCE_COLOR", async () => {
    const csi = "\u001b[";
    expect((await check([TREE], { tty: true })).stdout).toContain(`${csi}31mdeny`);
    expect((await check([TREE], { tty: true, env: { NO_COLOR: "1" } })).stdout).not.toContain(csi);
    expect((await check([TREE], { env: { FORCE_COLOR: "1" } })).stdout).toContain(csi);
    expect((await check([TREE], { tty: true, env: { FORCE_COLOR: "0" } })).stdout).not.toContain(csi);
  });

  test("no findings says so", async () => {
    const { stdout } = await check([`${BROKEN}/a-good.yaml`]);
    expect(stdout).toBe("no findings in 1 object in 1 file (enforce mode)\n");
  });
});
