import { describe, expect, test } from "vitest";
import { runCheck } from "../../src/cli/check.js";
import { captureIO } from "./helpers.js";

const DIR = "test/fixtures/check/pod-templates";
const CONFIG = `${DIR}/config.yaml`;
const FILE = `${DIR}/workloads.yaml`;

async function check(args: string[]) {
  const captured = captureIO();
  const code = await runCheck(args, captured.io);
  return { code, stdout: captured.stdout(), stderr: captured.stderr() };
}

/** The findings the fixture holds, as [kind/name, line, rule, path]. */
const FINDINGS = [
  [
    "Rollout/web",
    23,
    "container-requests-missing",
    "spec.template.spec.containers[name=web].resources.requests",
  ],
  ["Rollout/web", 23, "container-limits-missing", "spec.template.spec.containers[name=web].resources.limits"],
  [
    "Rollout/web",
    26,
    "privileged-container",
    "spec.template.spec.containers[name=web].securityContext.privileged",
  ],
  ["Service/hello", 81, "run-as-root", "spec.template.spec.containers[0].securityContext.runAsNonRoot"],
];

describe("tollgate check with podTemplates", () => {
  test("without the config, the custom resources are not covered, never clean", async () => {
    const { code, stdout } = await check([FILE]);
    expect(code).toBe(0);
    expect(stdout).toBe(
      [
        "no findings in 0 objects in 1 file (enforce mode)",
        "4 objects not covered: Rollout (argoproj.io/v1alpha1), CloneSet (apps.kruise.io/v1alpha1), Service",
        "  (serving.knative.dev/v1), AnalysisTemplate (argoproj.io/v1alpha1)",
        "",
      ].join("\n"),
    );
  });

  test("judges a Rollout, a CloneSet and a Knative Service as Deployments: text", async () => {
    const { code, stdout, stderr } = await check(["--config", CONFIG, FILE]);
    expect(stderr).toBe("");
    expect(code).toBe(1);
    expect(stdout).toBe(
      [
        `${FILE}:3  Rollout shop/web`,
        '  23  deny  container-requests-missing  container "web" has no requests.cpu or requests.memory',
        '  23  deny  container-limits-missing    container "web" has no limits.cpu or limits.memory',
        '  26  deny  privileged-container        container "web" sets securityContext.privileged=true',
        "",
        `${FILE}:62  Service shop/hello`,
        '  81  deny  run-as-root  container "#0" must set securityContext.runAsNonRoot=true',
        "",
        "findings by rule, with the fix of each rule's first finding (--explain: every finding's own):",
        "  1 deny  container-limits-missing",
        '          fix: set resources.limits.cpu and resources.limits.memory on container "web"',
        "  1 deny  container-requests-missing",
        '          fix: set resources.requests.cpu and resources.requests.memory on container "web"',
        "  1 deny  privileged-container",
        '          fix: remove securityContext.privileged from container "web"; add only the capabilities it',
        "               needs",
        "  1 deny  run-as-root",
        '          fix: set securityContext.runAsNonRoot: true on container "#0" or on the pod',
        "",
        "4 findings (4 deny, 0 warn) in 3 objects in 1 file (enforce mode), score 33",
        "1 object not covered: AnalysisTemplate (argoproj.io/v1alpha1)",
        "",
      ].join("\n"),
    );
  });

  test("JSON: every finding with its kind, path into the custom resource and line", async () => {
    const { code, stdout } = await check(["--config", CONFIG, FILE, "--output", "json"]);
    expect(code).toBe(1);
    const report = JSON.parse(stdout) as {
      findings: { kind: string; name: string; line: number; rule: string; path: string; container: string }[];
      summary: Record<string, number>;
      notCovered: unknown[];
    };
    expect(report.findings.map((f) => [`${f.kind}/${f.name}`, f.line, f.rule, f.path])).toEqual(FINDINGS);
    expect(report.findings.map((f) => f.container)).toEqual(["web", "web", "web", "#0"]);
    expect(report.summary).toMatchObject({ objects: 4, findings: 4, deny: 4, warn: 0, notCovered: 1 });
    expect(report.notCovered).toEqual([
      { kind: "AnalysisTemplate", apiVersion: "argoproj.io/v1alpha1", count: 1 },
    ]);
  });

  test("SARIF: one result per finding, at its line, named by the custom resource and path", async () => {
    const { code, stdout } = await check(["--config", CONFIG, FILE, "--output", "sarif"]);
    expect(code).toBe(1);
    const sarif = JSON.parse(stdout) as {
      runs: {
        results: {
          ruleId: string;
          level: string;
          locations: {
            physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } };
            logicalLocations: { fullyQualifiedName: string }[];
          }[];
        }[];
      }[];
    };
    const results = sarif.runs[0]!.results.map((r) => {
      const location = r.locations[0]!;
      return [
        r.ruleId,
        r.level,
        location.physicalLocation.artifactLocation.uri,
        location.physicalLocation.region.startLine,
        location.logicalLocations[0]!.fullyQualifiedName,
      ];
    });
    expect(results).toEqual(
      FINDINGS.map(([object, line, rule, path]) => {
        const [kind, name] = (object as string).split("/");
        return [rule, "error", FILE, line, `${kind}/shop/${name}:${path}`];
      }),
    );
  });
});
