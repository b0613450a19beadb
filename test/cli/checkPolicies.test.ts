import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { load, loadAll } from "js-yaml";
import { describe, expect, it, vi } from "vitest";
import { fullCatalog } from "../../src/audit/catalog.js";
import { runCheck } from "../../src/cli/check.js";
import { loadConfigAndPolicies } from "../../src/cli/policies.js";
import { vapRules } from "../../src/engine/vapRules.js";
import { captureIO } from "./helpers.js";

const DIR = join("test", "fixtures", "policies", "team-label");
const OBJECTS = join(DIR, "objects.yaml");
const POLICY = join(DIR, "policy.yaml");

interface JsonFinding {
  rule: string;
  severity: string;
  name: string;
  line: number;
  path: string;
  message: string;
}

async function check(args: string[], env: Record<string, string> = {}) {
  const captured = captureIO({ env });
  const code = await runCheck(args, captured.io);
  return { code, stdout: captured.stdout(), stderr: captured.stderr() };
}

describe("tollgate check --policy: ValidatingAdmissionPolicies as rules", () => {
  it("reports each policy's violations beside the built-in rules, with the binding's action", async () => {
    const { code, stdout } = await check([OBJECTS, "--policy", POLICY, "--output", "json"]);
    expect(code).toBe(1);
    const report = JSON.parse(stdout) as { findings: JsonFinding[]; notes: string[] };
    const custom = report.findings
      .filter((finding) => finding.rule === "require-team-label" || finding.rule === "prod-replicas")
      .map(({ rule, severity, name, line, path, message }) => ({
        rule,
        severity,
        name,
        line,
        path,
        message,
      }));
    expect(custom).toEqual([
      // Unbound: as if bound with [Deny].
      {
        rule: "require-team-label",
        severity: "deny",
        name: "cart",
        line: 5,
        path: "",
        message: "Deployment cart has no team label",
      },
      // Bound with [Audit] only, and selected through the labels of the Namespace among the inputs.
      {
        rule: "prod-replicas",
        severity: "warn",
        name: "cart",
        line: 5,
        path: "",
        message: "a prod Deployment runs at least 2 replicas",
      },
    ]);
    expect(report.notes).toEqual([
      'ValidatingAdmissionPolicy "require-team-label" has no binding in the policy files: it applies as if bound with validationActions [Deny] to everything it matches',
    ]);
  });

  it("lets the config lower a policy's severity like a built-in rule's", async () => {
    const config = join(DIR, "tollgate.yaml");
    const { stdout } = await check([OBJECTS, "--policy", POLICY, "--config", config, "--output", "json"]);
    const report = JSON.parse(stdout) as { findings: JsonFinding[] };
    expect(
      report.findings.filter((finding) => finding.rule === "require-team-label").map((f) => f.severity),
    ).toEqual(["warn"]);
  });

  it("exits 2 with the file, line, policy and field of a broken policy", async () => {
    // Wide, so that the message is on one line.
    const broken = [OBJECTS, "--policy", join(DIR, "broken", "policy.yaml")];
    const { code, stderr, stdout } = await check(broken, { COLUMNS: "400" });
    expect(code).toBe(2);
    expect(stdout).toContain(
      `${join(DIR, "broken", "policy.yaml")}:9: ValidatingAdmissionPolicy "broken": spec.validations[0].expression: type error: found no matching overload for 'dyn.nosuch()' (at 1:1)`,
    );
    expect(stderr).toBe("");
  });
});

describe("tollgate rules --policy: the loaded policies in the catalog", () => {
  it("lists each policy with its title annotation, category custom, the kinds it matches and where it runs", async () => {
    const { policies, errors } = await loadConfigAndPolicies(undefined, [POLICY]);
    expect(errors).toEqual([]);
    const entries = fullCatalog(undefined, undefined, vapRules(policies)).policies ?? [];
    expect(
      entries.map(({ id, title, category, defaultSeverity, kinds, sources }) => ({
        id,
        title,
        category,
        defaultSeverity,
        kinds,
        sources,
      })),
    ).toEqual([
      {
        id: "require-team-label",
        title: "Deployments carry a team label",
        category: "custom",
        defaultSeverity: "deny",
        kinds: ["Deployment"],
        sources: ["admission", "check", "audit"],
      },
      {
        id: "prod-replicas",
        title: "ValidatingAdmissionPolicy prod-replicas",
        category: "custom",
        defaultSeverity: "deny",
        kinds: ["Deployment"],
        sources: ["admission", "check", "audit"],
      },
    ]);
    expect(fullCatalog().policies).toBeUndefined();
  });
});

describe("tollgate manifests --policy: the webhook is sent what the policies select", () => {
  it("adds a policy's resource rules to the entries of its scope", async () => {
    const { installManifests } = await import("../../src/k8s/manifests.js");
    const rule = {
      apiGroups: [""],
      apiVersions: ["v1"],
      operations: ["CREATE", "UPDATE"],
      resources: ["services"],
    };
    const objects = installManifests({ policyRules: [rule] });
    const webhook = objects.find((object) => object.kind === "ValidatingWebhookConfiguration") as unknown as {
      webhooks: { name: string; rules: { resources: string[]; scope: string }[] }[];
    };
    expect(
      webhook.webhooks.map((entry) => [
        entry.name,
        entry.rules.filter((r) => r.resources.includes("services")).map((r) => r.scope),
      ]),
    ).toEqual([
      ["enforce.tollgate.dev", ["Namespaced"]],
      ["warn.tollgate.dev", ["Namespaced"]],
      ["default.tollgate.dev", ["Namespaced"]],
      ["cluster.tollgate.dev", ["Cluster"]],
      ["namespaces.tollgate.dev", []],
    ]);
    const plain = installManifests().find((object) => object.kind === "ValidatingWebhookConfiguration");
    expect(JSON.stringify(plain)).not.toContain('"services"');
  });
});

describe("tollgate manifests --policy: the policy files ship in the ConfigMap tollgate-policies", () => {
  async function manifestsOut(args: string[]): Promise<string> {
    const { manifests } = await import("../../src/cli/manifests.js");
    let out = "";
    const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    });
    try {
      expect(await manifests(args)).toBe(0);
    } finally {
      spy.mockRestore();
    }
    return out;
  }

  it("puts each file, as written, in the ConfigMap, and the config names its mount", async () => {
    const folder = mkdtempSync(join(tmpdir(), "tollgate-policies-"));
    const tier = readFileSync(POLICY, "utf8")
      .split("\n---\n")[0]!
      .replaceAll("require-team-label", "require-tier");
    writeFileSync(join(folder, "tier.yaml"), tier);
    let text: string;
    try {
      text = await manifestsOut(["--policy", POLICY, "--policy", folder]);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
    const objects = loadAll(text) as {
      kind: string;
      metadata: { name: string };
      data?: Record<string, string>;
      spec?: { template: { spec: { volumes: { name: string; configMap?: { name: string } }[] } } };
    }[];
    const policies = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === "tollgate-policies");
    expect(Object.keys(policies?.data ?? {})).toEqual(["policy.yaml", "tier.yaml"]);
    expect(policies?.data?.["tier.yaml"]).toBe(tier);
    expect(policies?.data?.["policy.yaml"]).toBe(readFileSync(POLICY, "utf8"));
    const config = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === "tollgate-config");
    expect((load(config!.data!["config.yaml"]!) as { policies: string[] }).policies).toEqual([
      "/etc/tollgate-policies",
    ]);
    const deployment = objects.find((o) => o.kind === "Deployment");
    expect(deployment?.spec?.template.spec.volumes.find((v) => v.name === "policies")?.configMap?.name).toBe(
      "tollgate-policies",
    );
  }, 20_000);

  it("writes them into the base's policies/ folder, which the generator reads", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tollgate-base-"));
    try {
      await manifestsOut(["--policy", POLICY, "--output-dir", dir]);
      expect(readFileSync(join(dir, "policies", "policy.yaml"), "utf8")).toBe(readFileSync(POLICY, "utf8"));
      const kustomization = load(readFileSync(join(dir, "kustomization.yaml"), "utf8")) as {
        configMapGenerator: { name: string; files?: string[] }[];
      };
      expect(kustomization.configMapGenerator.map((g) => [g.name, g.files])).toEqual([
        ["tollgate-config", ["config.yaml=tollgate.yaml"]],
        ["tollgate-policies", ["policies/policy.yaml"]],
      ]);
      expect(
        (load(readFileSync(join(dir, "tollgate.yaml"), "utf8")) as { policies: string[] }).policies,
      ).toEqual(["/etc/tollgate-policies"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 20_000);

  it("refuses what a ConfigMap cannot hold, naming the files", async () => {
    const { policyConfigMapFiles, MAX_POLICY_FILES_BYTES } = await import("../../src/k8s/manifests.js");
    expect(() =>
      policyConfigMapFiles([
        { path: "a/p.yaml", content: "x" },
        { path: "b/p.yaml", content: "y" },
      ]),
    ).toThrow("b/p.yaml and a/p.yaml have the same file name, which the ConfigMap holds once; rename one");
    expect(() => policyConfigMapFiles([{ path: "a/my policy.yaml", content: "x" }])).toThrow(
      "a/my policy.yaml: the file name cannot be a ConfigMap key (letters, digits, '-', '_', '.'); rename it",
    );
    expect(() =>
      policyConfigMapFiles([{ path: "big.yaml", content: "x".repeat(MAX_POLICY_FILES_BYTES) }]),
    ).toThrow(/^the policy files hold \d+ bytes, more than a ConfigMap takes/);
    expect(
      policyConfigMapFiles([
        { path: "z/b.yaml", content: "b" },
        { path: "a.yaml", content: "a" },
      ]),
    ).toEqual([
      { name: "a.yaml", content: "a" },
      { name: "b.yaml", content: "b" },
    ]);
  });
});
