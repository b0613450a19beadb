import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it, vi } from "vitest";
import { UsageError } from "../../src/cli/args.js";
import { rules } from "../../src/cli/rules.js";
import { renderCatalogMarkdown } from "../../src/audit/catalog.js";

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

/** The checks of the audit's cluster checklist, in the order audit runs them. */
const CHECKLIST = [
  "cluster-admin-binding",
  "namespace-default-deny-missing",
  "namespace-dns-egress-missing",
  "namespace-limitrange-missing",
  "namespace-resourcequota-missing",
  "namespace-pss-enforce-missing",
  "workload-pdb-missing",
  "workload-on-system-nodes",
  "workload-node-pool-missing",
  "secrets-readers",
  "apiserver-flags-insecure",
  "helm-release-hygiene",
  "backup-schedule-missing",
  "autoscaler-missing",
  "monitoring-missing",
  "alerts-missing",
  "tls-secret-expiring",
  "tls-secret-short-lived",
  "certificate-not-ready",
  "server-version-unsupported",
  "tollgate-webhook-missing",
  "tollgate-webhook-cert-expiring",
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

  it("prints the checklist's checks beside the rules, with their fields and where they run", async () => {
    const { stdout } = await run(["--output", "json"]);
    const parsed = JSON.parse(stdout) as { checks: Record<string, unknown>[] };
    expect(parsed.checks.map((c) => c.id)).toEqual(CHECKLIST);
    for (const check of parsed.checks) {
      expect(Object.keys(check)).toEqual([
        "id",
        "title",
        "category",
        "defaultSeverity",
        "kinds",
        "sources",
        "description",
        "remediation",
        "options",
        "optionalKinds",
        "readsVersion",
        "namespaceScoped",
        "coveredBy",
      ]);
    }
    expect(parsed.checks.find((c) => c.id === "backup-schedule-missing")).toEqual({
      id: "backup-schedule-missing",
      title: "Backups are scheduled",
      category: "cluster",
      defaultSeverity: "warn",
      kinds: ["CronJob"],
      sources: ["audit"],
      description:
        "A cluster without a scheduled backup (a Velero Schedule, or a CronJob that snapshots etcd) cannot be restored after a failed upgrade or a deleted namespace.",
      remediation:
        "Install Velero and create a Schedule (`velero schedule create daily --schedule='0 3 * * *'`).",
      options: {},
      optionalKinds: ["Schedule"],
      readsVersion: false,
      namespaceScoped: false,
      coveredBy: null,
    });
    expect(parsed.checks.find((c) => c.id === "workload-pdb-missing")).toMatchObject({
      defaultSeverity: "warn",
      kinds: ["Deployment", "StatefulSet", "ReplicaSet", "ReplicationController", "PodDisruptionBudget"],
      namespaceScoped: true,
      coveredBy: "pdb-missing",
    });
  });

  it("prints a table by default, the checklist's in a second one", async () => {
    const { code, stdout } = await run([]);
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(DESIGN_TABLE.length + 1 + 3 + CHECKLIST.length);
    expect(lines[0]).toMatch(/^ID +CATEGORY +DEFAULT +TITLE$/);
    expect(lines[4]).toMatch(/^run-as-root +security +deny +Containers do not run as root$/);
    expect(lines.slice(DESIGN_TABLE.length + 1, DESIGN_TABLE.length + 5)).toEqual([
      "",
      "Cluster checklist (runs in audit only):",
      expect.stringMatching(/^ID +CATEGORY +DEFAULT +TITLE$/),
      expect.stringMatching(
        /^cluster-admin-binding +cluster +deny +cluster-admin is bound only to system subjects$/,
      ),
    ]);
  });

  it("rejects an unknown output", async () => {
    await expect(rules(["--output", "yaml"])).rejects.toThrow(
      new UsageError('tollgate rules: --output must be one of text, json, markdown, got "yaml"'),
    );
  });
});

describe("docs/rules.md", () => {
  it("has a section for every rule and every check", () => {
    const headings = renderCatalogMarkdown()
      .split("\n")
      .filter((line) => line.startsWith("## "))
      .map((line) => line.slice(3));
    expect(headings).toEqual([...DESIGN_TABLE, "Cluster checklist", ...CHECKLIST]);
  });

  it("is generated from the rules' metadata and up to date (regenerate: npm run docs:rules)", () => {
    const committed = readFileSync(new URL("../../docs/rules.md", import.meta.url), "utf8");
    expect(committed === renderCatalogMarkdown(), "docs/rules.md is stale: run `npm run docs:rules`").toBe(
      true,
    );
  });
});
