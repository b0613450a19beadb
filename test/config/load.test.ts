import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  checkRuleIds,
  ConfigError,
  DEFAULT_CONFIG,
  loadConfigFile,
  parseConfig,
} from "../../src/config/load.js";
import { RULES } from "../../src/rules/index.js";
import { runTollgate } from "../cli/run.js";

const KNOWN = new Set(["run-as-root", "container-limits-missing"]);
const BUILT_IN = new Set(RULES.keys());

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("expected a ConfigError");
}

describe("config", () => {
  it("gives the defaults for {}, and refuses an empty file: emptied by mistake, it would relax the config", () => {
    expect(parseConfig("{}\n", "tollgate.yaml")).toEqual(DEFAULT_CONFIG);
    for (const empty of ["", "\n  \n", "# all rules at their defaults\n", "---\n", "~\n"]) {
      expect(errorOf(() => parseConfig(empty, "tollgate.yaml"))).toBe(
        "tollgate.yaml: the config file is empty (nothing but whitespace or comments); write {} to ask for the defaults",
      );
    }
  });

  it("refuses an empty file at start-up too, so a restart cannot relax what a reload refused", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tollgate-config-"));
    const empty = join(dir, "config.yaml");
    writeFileSync(empty, "\n");
    const ran = await runTollgate(["serve", "--config", empty, "--port", "0", "--metrics-port", "0"]);
    rmSync(dir, { recursive: true, force: true });
    expect(ran.stderr).toBe(
      `tollgate serve: ${empty}: the config file is empty (nothing but whitespace or comments); write {} to ask for the defaults; tollgate did not start: fix the file (or --config) and start it again\n`,
    );
    expect(ran.code).toBe(2);
  });

  it("merges a file over the defaults", () => {
    const config = parseConfig(
      [
        "defaultMode: warn",
        "rules:",
        "  run-as-root: { severity: warn }",
        "  container-limits-missing: { options: { requireCpuLimit: false } }",
        "policyAdmins:",
        "  groups: [platform-admins]",
        "webhook:",
        "  failurePolicy: Ignore",
      ].join("\n"),
      "tollgate.yaml",
      KNOWN,
    );
    expect(config.defaultMode).toBe("warn");
    expect(config.rules["run-as-root"]).toEqual({ severity: "warn" });
    expect(config.policyAdmins).toEqual({ users: [], groups: ["platform-admins"], serviceAccounts: [] });
    expect(config.webhook).toEqual({ ...DEFAULT_CONFIG.webhook, failurePolicy: "Ignore" });
    expect(config.excludedNamespaces).toEqual(DEFAULT_CONFIG.excludedNamespaces);
  });

  it("names the file, line and field of every schema error", () => {
    const message = errorOf(() =>
      parseConfig(
        ["defaultMode: block", "rules:", "  run-as-root:", "    severity: fatal", "ratchets: true"].join(
          "\n",
        ),
        "/etc/tollgate/config.yaml",
      ),
    );
    expect(message).toBe(
      [
        "invalid config:",
        '  /etc/tollgate/config.yaml:1: defaultMode: must be one of "enforce", "warn"',
        '  /etc/tollgate/config.yaml:4: rules.run-as-root.severity: must be one of "deny", "warn", "off"',
        '  /etc/tollgate/config.yaml:5: ratchets: unknown key (did you mean "ratchet"?)',
      ].join("\n"),
    );
  });

  it("takes the audit's bounds as whole numbers in range, defaulting to 10 revisions and 7 days", () => {
    expect(DEFAULT_CONFIG).toMatchObject({ helmMaxRevisions: 10, minCertificateValidityDays: 7 });
    const config = parseConfig("helmMaxRevisions: 5\nminCertificateValidityDays: 30\n", "c.yaml");
    expect(config).toMatchObject({ helmMaxRevisions: 5, minCertificateValidityDays: 30 });
    const message = errorOf(() =>
      parseConfig("helmMaxRevisions: 0\nminCertificateValidityDays: 1.5\n", "c.yaml"),
    );
    expect(message).toBe(
      [
        "invalid config:",
        "  c.yaml:1: helmMaxRevisions: must be >= 1",
        "  c.yaml:2: minCertificateValidityDays: must be integer",
      ].join("\n"),
    );
  });

  it("rejects an exemption without reason or a malformed date", () => {
    const message = errorOf(() =>
      parseConfig(
        ["exemptions:", "  - namespace: legacy", "    rules: [run-as-root]", "    until: 31-01-2027"].join(
          "\n",
        ),
        "c.yaml",
      ),
    );
    expect(message).toBe(
      [
        "invalid config:",
        "  c.yaml:2: exemptions.0: must have required property 'reason'",
        '  c.yaml:4: exemptions.0.until: must match pattern "^\\d{4}-\\d{2}-\\d{2}$"',
      ].join("\n"),
    );
  });

  it("reads podTemplates, filling in the plural resource and like: Deployment", () => {
    const config = parseConfig(
      [
        "podTemplates:",
        "  - { group: argoproj.io, kind: Rollout, path: spec.template }",
        "  - group: apps.kruise.io",
        "    kind: CloneSet",
        "    path: spec.template",
        "  - { group: serving.knative.dev, kind: Service, path: spec.template, resource: services }",
        "  - { group: batch.example.com, kind: Nightly, path: spec.jobTemplate.spec.template, like: CronJob }",
        "  - { group: example.com, kind: Policy, path: spec.template }",
      ].join("\n"),
      "c.yaml",
    );
    expect(config.podTemplates).toEqual([
      {
        group: "argoproj.io",
        kind: "Rollout",
        path: "spec.template",
        resource: "rollouts",
        like: "Deployment",
      },
      {
        group: "apps.kruise.io",
        kind: "CloneSet",
        path: "spec.template",
        resource: "clonesets",
        like: "Deployment",
      },
      {
        group: "serving.knative.dev",
        kind: "Service",
        path: "spec.template",
        resource: "services",
        like: "Deployment",
      },
      {
        group: "batch.example.com",
        kind: "Nightly",
        path: "spec.jobTemplate.spec.template",
        resource: "nightlies",
        like: "CronJob",
      },
      {
        group: "example.com",
        kind: "Policy",
        path: "spec.template",
        resource: "policies",
        like: "Deployment",
      },
    ]);
    expect(DEFAULT_CONFIG.podTemplates).toEqual([]);
  });

  it("names each podTemplates error with its line, and the nearest key or kind", () => {
    const text = [
      "podTemplates:",
      "  - group: argoproj.io",
      "    kind: Rollout",
      "    paht: spec.template",
      "  - { group: argoproj.io, kind: Rollout, path: spec.template, like: Deploymnet }",
      "  - { group: apps, kind: Deployment, path: spec.template }",
      "  - { group: apps, kind: Rollout, path: spec.template }",
      "  - { group: Example.COM, kind: 'roll-out', path: spec.template, resource: Rollouts }",
      "  - { group: example.com, kind: A, path: 'spec.containers[0]' }",
      "  - { group: example.com, kind: B, path: a.b.c.d.e.f.g.h.i.j.k }",
      "  - { group: example.com, kind: C, path: metadata.template }",
      "  - { group: example.com, kind: D, path: 3 }",
      "  - { group: example.com, kind: E, path: spec..template }",
      "  - { group: monitoring.coreos.com, kind: Prometheus, path: spec.template }",
      "  - { group: example.com, kind: Rollout, path: spec.template }",
      "  - { group: example.com, kind: Rollout, path: spec.other }",
      "  - { group: example.com, kind: F, path: spec.__proto__.template }",
    ].join("\n");
    expect(errorOf(() => parseConfig(text, "c.yaml"))).toBe(
      [
        "invalid config:",
        "  c.yaml:2: podTemplates.0: must have required property 'path'",
        '  c.yaml:4: podTemplates.0.paht: unknown key (did you mean "path"?)',
        '  c.yaml:5: podTemplates.1.like: must be one of "CronJob", "DaemonSet", "Deployment", "Job", "ReplicaSet", "ReplicationController", "StatefulSet" (did you mean "Deployment"?)',
        "  c.yaml:5: podTemplates.1.kind: argoproj.io Rollout is configured already in podTemplates.0; one entry per kind",
        "  c.yaml:6: podTemplates.2.kind: apps Deployment is a kind tollgate knows already, and judges its pod spec; podTemplates is for custom resources",
        '  c.yaml:7: podTemplates.3.group: must be the API group of a custom resource, a lower-case DNS name with a dot (argoproj.io), got "apps"',
        '  c.yaml:8: podTemplates.4.group: must be the API group of a custom resource, a lower-case DNS name with a dot (argoproj.io), got "Example.COM"',
        '  c.yaml:8: podTemplates.4.kind: must be a kind (letters and digits, starting with a letter: Rollout), got "roll-out"',
        "  c.yaml:8: podTemplates.4.resource: must be the plural resource name (lower-case letters, digits and '-': rollouts), got \"Rollouts\"",
        "  c.yaml:9: podTemplates.5.path: must be field names joined by dots (spec.template), each of letters, digits, '_' and '-', at most 63; \"containers[0]\" is not one",
        "  c.yaml:10: podTemplates.6.path: has 11 fields; at most 10",
        "  c.yaml:11: podTemplates.7.path: a pod template sits in the object's spec, not its metadata (spec.template)",
        "  c.yaml:12: podTemplates.8.path: must be string",
        "  c.yaml:13: podTemplates.9.path: must be field names joined by dots (spec.template), each of letters, digits, '_' and '-', at most 63; \"\" is not one",
        "  c.yaml:14: podTemplates.10.kind: monitoring.coreos.com Prometheus is a kind tollgate knows already; podTemplates is for custom resources",
        "  c.yaml:16: podTemplates.12.kind: example.com Rollout is configured already in podTemplates.11; one entry per kind",
        '  c.yaml:17: podTemplates.13.path: "__proto__" is not a field of a Kubernetes object',
      ].join("\n"),
    );
  });

  it("bounds podTemplates: at most 50 entries, a path of at most 253 characters", () => {
    const many = Array.from(
      { length: 51 },
      (_, i) => `  - { group: example.com, kind: K${i}, path: spec.template }`,
    );
    expect(errorOf(() => parseConfig(["podTemplates:", ...many].join("\n"), "c.yaml"))).toBe(
      "invalid config:\n  c.yaml:1: podTemplates: must NOT have more than 50 items",
    );
    const long = `spec.${"a".repeat(250)}`;
    expect(
      errorOf(() =>
        parseConfig(`podTemplates:\n  - { group: example.com, kind: K, path: ${long} }\n`, "c.yaml"),
      ),
    ).toBe(
      "invalid config:\n  c.yaml:2: podTemplates.0.path: must NOT have more than 253 characters\n" +
        "  c.yaml:2: podTemplates.0.path: must be field names joined by dots (spec.template), each of letters, digits, '_' and '-', at most 63; " +
        `${JSON.stringify("a".repeat(250))} is not one`,
    );
  });

  it("reads YAML 1.2, not kubectl's YAML 1.1: off is a severity, an unquoted date a string", () => {
    const config = parseConfig(
      [
        "rules:",
        "  run-as-root: { severity: off }",
        "exemptions:",
        "  - namespace: legacy",
        "    rules: [run-as-root]",
        "    reason: migrating",
        "    until: 2027-01-31",
      ].join("\n"),
      "c.yaml",
      KNOWN,
    );
    expect(config.rules["run-as-root"]).toEqual({ severity: "off" });
    expect(config.exemptions).toEqual([
      { namespace: "legacy", rules: ["run-as-root"], reason: "migrating", until: "2027-01-31" },
    ]);
    expect(errorOf(() => parseConfig("skipOwnedPods: no\n", "c.yaml"))).toBe(
      "invalid config:\n  c.yaml:1: skipOwnedPods: must be boolean",
    );
  });

  it("rejects unknown rule ids so a typo cannot silently change nothing, with the nearest known id", () => {
    expect(errorOf(() => parseConfig("rules:\n  run-as-rot: { severity: off }\n", "c.yaml", KNOWN))).toBe(
      'invalid config:\n  c.yaml:2: rules: unknown rule id "run-as-rot" (did you mean "run-as-root"?)',
    );
    expect(
      errorOf(() =>
        parseConfig(
          "exemptions:\n- rules:\n  - run-as-root\n  - no-such-rule\n  reason: r\n  until: 2027-01-01\n",
          "c.yaml",
          KNOWN,
        ),
      ),
    ).toBe(
      'invalid config:\n  c.yaml:4: exemptions.0.rules: unknown rule id "no-such-rule" (see `tollgate rules`)',
    );
  });

  it("checks each rule's options against the ones it declares: key and type", () => {
    const config = (options: string) =>
      `rules:\n  container-limits-missing:\n    options:\n      ${options}\n`;
    expect(errorOf(() => parseConfig(config("requireCpuLimt: false"), "c.yaml", BUILT_IN))).toBe(
      'invalid config:\n  c.yaml:4: rules.container-limits-missing.options.requireCpuLimt: unknown option (did you mean "requireCpuLimit"?)',
    );
    expect(errorOf(() => parseConfig(config('requireCpuLimit: "no"'), "c.yaml", BUILT_IN))).toBe(
      'invalid config:\n  c.yaml:4: rules.container-limits-missing.options.requireCpuLimit: must be true or false, got the string "no"',
    );
    // YAML 1.2: an unquoted no is a string too, not false.
    expect(errorOf(() => parseConfig(config("requireCpuLimit: no"), "c.yaml"))).toBe(
      'invalid config:\n  c.yaml:4: rules.container-limits-missing.options.requireCpuLimit: must be true or false, got the string "no"',
    );
    expect(errorOf(() => parseConfig(config("cpu: 1"), "c.yaml"))).toBe(
      "invalid config:\n  c.yaml:4: rules.container-limits-missing.options.cpu: unknown option (container-limits-missing takes requireCpuLimit)",
    );
    expect(errorOf(() => parseConfig("rules:\n  run-as-root: {options: {strict: true}}\n", "c.yaml"))).toBe(
      "invalid config:\n  c.yaml:2: rules.run-as-root.options.strict: unknown option: run-as-root takes no options",
    );
    expect(parseConfig(config("requireCpuLimit: false"), "c.yaml", BUILT_IN).rules).toEqual({
      "container-limits-missing": { options: { requireCpuLimit: false } },
    });
  });

  it("reports every problem in the file at once, in line order, each with its line and the nearest word", () => {
    const text = [
      "defaultMode: enforce",
      "rules:",
      "  container-limits-missing:",
      "    options:",
      "      requireCpuLimt: false",
      "  run-as-rot: {severity: warn}",
      "  image-tag-mutable: {severity: of}",
      "ratchets: true",
      "webhook:",
      "  failurPolicy: Ignore",
      "exemptions:",
      "  - rules: [host-prot]",
      "    reason: migrating",
      "    until: 2027-01-01",
    ].join("\n");
    expect(errorOf(() => parseConfig(text, "c.yaml", BUILT_IN))).toBe(
      [
        "invalid config:",
        '  c.yaml:5: rules.container-limits-missing.options.requireCpuLimt: unknown option (did you mean "requireCpuLimit"?)',
        '  c.yaml:6: rules: unknown rule id "run-as-rot" (did you mean "run-as-root"?)',
        '  c.yaml:7: rules.image-tag-mutable.severity: must be one of "deny", "warn", "off" (did you mean "off"?)',
        '  c.yaml:8: ratchets: unknown key (did you mean "ratchet"?)',
        '  c.yaml:10: webhook.failurPolicy: unknown key (did you mean "failurePolicy"?)',
        '  c.yaml:12: exemptions.0.rules: unknown rule id "host-prot" (did you mean "host-port"?)',
      ].join("\n"),
    );
  });

  it("checks rule ids after its policies are read, still with lines, and gives a policy no options", () => {
    const dir = mkdtempSync(join(tmpdir(), "tollgate-config-"));
    const path = join(dir, "config.yaml");
    writeFileSync(path, "policies: [p]\nrules:\n  team-label:\n    options: {x: 1}\n  run-as-rot: {}\n");
    const config = loadConfigFile(path, BUILT_IN, true);
    const message = errorOf(() => checkRuleIds(config, new Set([...BUILT_IN, "team-label"]), path));
    rmSync(dir, { recursive: true, force: true });
    expect(message).toBe(
      [
        "invalid config:",
        `  ${path}:4: rules.team-label.options: team-label is a ValidatingAdmissionPolicy, which takes params, not options`,
        `  ${path}:5: rules: unknown rule id "run-as-rot" (did you mean "run-as-root"?)`,
      ].join("\n"),
    );
  });

  it("tollgate check names every problem of its --config at once and exits 2", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tollgate-config-"));
    const path = join(dir, "config.yaml");
    writeFileSync(
      path,
      'rules:\n  container-limits-missing:\n    options: {requireCpuLimit: "no"}\n  run-as-rot: {}\n',
    );
    const ran = await runTollgate(["check", "--config", path, "test/fixtures/check/tree"]);
    rmSync(dir, { recursive: true, force: true });
    expect(ran.stderr).toBe(
      [
        "tollgate check: invalid config:",
        `  ${path}:3: rules.container-limits-missing.options.requireCpuLimit: must be true or false, got the string "no"`,
        `  ${path}:4: rules: unknown rule id "run-as-rot" (did you mean "run-as-root"?)`,
        "",
      ].join("\n"),
    );
    expect(ran.stdout).toBe("");
    expect(ran.code).toBe(2);
  });

  it("reports broken YAML with its position", () => {
    expect(errorOf(() => parseConfig("defaultMode: [warn\n", "c.yaml"))).toMatch(
      /^c\.yaml:\d+:\d+: invalid YAML: /,
    );
  });

  it("rejects a config that is not a mapping", () => {
    expect(errorOf(() => parseConfig("- warn\n", "c.yaml"))).toBe(
      "c.yaml: the config must be a YAML mapping",
    );
  });

  it("reads files and names a missing one", () => {
    const dir = mkdtempSync(join(tmpdir(), "tollgate-config-"));
    const path = join(dir, "config.yaml");
    writeFileSync(path, "skipOwnedPods: false\n");
    expect(loadConfigFile(path).skipOwnedPods).toBe(false);
    expect(errorOf(() => loadConfigFile(join(dir, "absent.yaml")))).toBe(
      `${join(dir, "absent.yaml")}: cannot read the config file (ENOENT)`,
    );
  });
});
