import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, DEFAULT_CONFIG, loadConfigFile, parseConfig } from "../../src/config/load.js";
import { runTollgate } from "../cli/run.js";

const KNOWN = new Set(["run-as-root", "container-limits-missing"]);

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
      `${empty}: the config file is empty (nothing but whitespace or comments); write {} to ask for the defaults\n`,
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
        "  /etc/tollgate/config.yaml:5: ratchets: unknown key",
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

  it("rejects unknown rule ids so a typo cannot silently change nothing", () => {
    expect(errorOf(() => parseConfig("rules:\n  run-as-rot: { severity: off }\n", "c.yaml", KNOWN))).toBe(
      'c.yaml: unknown rule id "run-as-rot" (see `tollgate rules`)',
    );
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
