import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it, vi } from "vitest";
import { UsageError } from "../../src/cli/args.js";
import { rules } from "../../src/cli/rules.js";
import { renderRulesMarkdown } from "../../src/rules/catalog.js";

/** The ids of the rule table in the design (docs/DESIGN.md, "Rules"), in its order. */
const DESIGN_TABLE = [
  "container-requests-missing",
  "container-limits-missing",
  "privileged-container",
  "run-as-root",
  "privilege-escalation-allowed",
  "capabilities-not-dropped",
  "dangerous-capabilities-added",
  "seccomp-profile-missing",
  "writable-root-filesystem",
  "host-namespaces",
  "host-path-volume",
  "host-port",
  "proc-mount-unmasked",
  "sysctls-unsafe",
  "apparmor-unconfined",
  "selinux-custom-options",
  "default-service-account",
  "service-account-token-automounted",
  "image-tag-mutable",
  "image-registry-untrusted",
  "liveness-probe-missing",
  "readiness-probe-missing",
  "secret-in-env-literal",
  "secret-data-in-manifest",
  "node-placement-missing",
  "rbac-wildcard",
  "rbac-cluster-admin-binding",
  "rbac-secrets-access",
  "rbac-pod-exec",
  "rbac-escalation-verbs",
  "rbac-default-service-account-binding",
  "namespace-pss-label-missing",
  "networkpolicy-missing",
  "pdb-missing",
  "protected-policy-label",
];

async function run(argv: string[]): Promise<{ code: number; stdout: string }> {
  let stdout = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  const code = await rules(argv);
  return { code, stdout };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("tollgate rules", () => {
  it("prints every id of the design's table as JSON, with the metadata", async () => {
    const { code, stdout } = await run(["--output", "json"]);
    expect(code).toBe(0);
    const parsed = JSON.parse(stdout) as { rules: Record<string, unknown>[] };
    expect(parsed.rules.map((r) => r.id)).toEqual(DESIGN_TABLE);
    expect(parsed.rules.find((r) => r.id === "secret-data-in-manifest")).toMatchObject({
      category: "secrets",
      defaultSeverity: "warn",
      kinds: ["Secret"],
      sources: ["check"],
    });
    expect(parsed.rules.find((r) => r.id === "container-limits-missing")?.options).toEqual({
      requireCpuLimit: true,
    });
  });

  it("prints a table by default", async () => {
    const { code, stdout } = await run([]);
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(DESIGN_TABLE.length + 1);
    expect(lines[0]).toMatch(/^ID +CATEGORY +DEFAULT +TITLE$/);
    expect(lines[4]).toMatch(/^run-as-root +security +deny +Containers do not run as root$/);
  });

  it("rejects an unknown output", async () => {
    await expect(rules(["--output", "yaml"])).rejects.toThrow(
      new UsageError('tollgate rules: --output must be one of text, json, markdown, got "yaml"'),
    );
  });
});

describe("docs/rules.md", () => {
  it("is generated from the rules' metadata and up to date (regenerate: npm run docs:rules)", () => {
    const committed = readFileSync(new URL("../../docs/rules.md", import.meta.url), "utf8");
    expect(committed === renderRulesMarkdown(), "docs/rules.md is stale: run `npm run docs:rules`").toBe(
      true,
    );
  });
});
