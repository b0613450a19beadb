import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, test } from "vitest";
import { runAudit } from "../../src/cli/audit.js";
import { runCheck } from "../../src/cli/check.js";
import { captureIO } from "../cli/helpers.js";
import { type FakeApiserver, type Routes, recordedRoutes, startFakeApiserver } from "./fakeApiserver.js";

const NOW = new Date("2027-01-10T00:00:00Z");
const dir = mkdtempSync(join(tmpdir(), "tollgate-audit-templates-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const config = join(dir, "config.yaml");
writeFileSync(config, "podTemplates:\n  - { group: argoproj.io, kind: Rollout, path: spec.template }\n");

let fake: FakeApiserver | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

interface JsonFinding {
  rule: string;
  severity: string;
  kind: string;
  namespace: string;
  name: string;
  message: string;
  path?: string;
}
interface JsonReport {
  findings: JsonFinding[];
  errors: { message: string }[];
  notes: string[];
  objects?: unknown;
  summary: Record<string, number>;
}

/** The legacy Deployment of the recording, as a Rollout: no requests, limits, securityContext or probes. */
const badRollout = {
  metadata: { name: "checkout", namespace: "legacy", uid: "uid-rollout", resourceVersion: "7" },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: "checkout" } },
    strategy: { canary: { steps: [{ setWeight: 20 }] } },
    template: {
      metadata: { labels: { app: "checkout" } },
      spec: {
        containers: [{ name: "app", image: "registry.example.com/app:1.0" }],
        serviceAccountName: "app",
      },
    },
  },
};
/** The Rollout's ReplicaSet, with its template: skipped as a Deployment's ReplicaSet is. */
const rolloutReplicaSet = {
  metadata: {
    name: "checkout-6d4f",
    namespace: "legacy",
    uid: "uid-rs",
    ownerReferences: [
      {
        apiVersion: "argoproj.io/v1alpha1",
        kind: "Rollout",
        name: "checkout",
        uid: "uid-rollout",
        controller: true,
      },
    ],
  },
  spec: { replicas: 2, selector: badRollout.spec.selector, template: badRollout.spec.template },
};

/** Discovery of the groups (GET /apis): argoproj.io prefers v1alpha1 over a v1beta1 it also serves. */
const discovery = (groups: string[]) => ({
  body: {
    kind: "APIGroupList",
    apiVersion: "v1",
    groups: groups.map((name) => ({
      name,
      versions: [
        { groupVersion: `${name}/v1beta1`, version: "v1beta1" },
        { groupVersion: `${name}/v1alpha1`, version: "v1alpha1" },
      ],
      preferredVersion: { groupVersion: `${name}/v1alpha1`, version: "v1alpha1" },
    })),
  },
});

const rolloutList = (items: unknown[]) => ({
  body: {
    kind: "RolloutList",
    apiVersion: "argoproj.io/v1alpha1",
    metadata: { resourceVersion: "9" },
    items,
  },
});

async function audit(routes: Routes, args: string[] = []) {
  fake = await startFakeApiserver(routes);
  const server = fake;
  const captured = captureIO();
  const code = await runAudit([...args, "--output", "json"], captured.io, {
    kubeConfig: () => server.kubeConfig(),
    now: () => NOW,
  });
  const stdout = captured.stdout();
  const report = stdout ? (JSON.parse(stdout) as JsonReport) : undefined;
  return { code, report, stderr: captured.stderr(), requests: server.requests };
}

const of = (report: JsonReport | undefined, kind: string) =>
  (report?.findings ?? []).filter((f) => f.kind === kind);
const brief = (f: JsonFinding) =>
  `${f.severity} ${f.rule} ${f.namespace}/${f.name} ${f.path ?? ""} ${f.message}`;

describe("tollgate audit with podTemplates", () => {
  test("lists the Rollouts at the group's preferred version and judges them exactly as check does", async () => {
    const routes = recordedRoutes();
    routes["/apis"] = discovery(["argoproj.io"]);
    routes["/apis/argoproj.io/v1alpha1/rollouts"] = rolloutList([badRollout]);
    const replicaSets = routes["/apis/apps/v1/replicasets"]!.body as { items: unknown[] };
    replicaSets.items.push(rolloutReplicaSet);
    const { code, report, requests } = await audit(routes, ["--config", config]);
    expect(code).toBe(1);
    expect(requests.filter((r) => r === "/apis")).toHaveLength(1);
    expect(requests).toContain("/apis/argoproj.io/v1alpha1/rollouts?limit=500");

    // The same manifest through `tollgate check`.
    const file = join(dir, "rollout.yaml");
    writeFileSync(
      file,
      JSON.stringify({ apiVersion: "argoproj.io/v1alpha1", kind: "Rollout", ...badRollout }),
    );
    const checked = captureIO();
    await runCheck(["--config", config, "--output", "json", file], checked.io);
    const fromCheck = of(JSON.parse(checked.stdout()) as JsonReport, "Rollout").map(brief);

    // And the checklist's workload-pdb-missing, as for a Deployment with 2 replicas and no budget.
    const fromAudit = of(report, "Rollout").map(brief);
    expect(fromAudit).toEqual([
      ...fromCheck,
      "warn workload-pdb-missing legacy/checkout spec.replicas Rollout checkout runs 2 replicas and no PodDisruptionBudget selects its Pods",
    ]);
    expect(of(report, "Rollout").map((f) => `${f.severity} ${f.rule} ${f.namespace}/${f.name}`)).toEqual([
      "deny container-requests-missing legacy/checkout",
      "deny container-limits-missing legacy/checkout",
      "deny run-as-root legacy/checkout",
      "deny privilege-escalation-allowed legacy/checkout",
      "warn capabilities-not-dropped legacy/checkout",
      "warn seccomp-profile-missing legacy/checkout",
      "warn writable-root-filesystem legacy/checkout",
      "warn service-account-token-automounted legacy/checkout",
      "warn liveness-probe-missing legacy/checkout",
      "warn readiness-probe-missing legacy/checkout",
      "warn workload-pdb-missing legacy/checkout",
    ]);
    expect(of(report, "Rollout").find((f) => f.rule === "run-as-root")?.path).toMatch(
      /^spec\.template\.spec/,
    );
    // The Rollout's ReplicaSet is not judged again: the recording's 6 skipped objects, and it.
    expect(report!.findings.filter((f) => f.name === "checkout-6d4f")).toEqual([]);
    expect(report!.summary).toMatchObject({ skipped: 7, errors: 0 });
    expect(report!.errors).toEqual([]);
  });

  test("without podTemplates nothing is discovered and no Rollout is listed", async () => {
    const routes = recordedRoutes();
    routes["/apis"] = discovery(["argoproj.io"]);
    routes["/apis/argoproj.io/v1alpha1/rollouts"] = rolloutList([badRollout]);
    const { report, requests } = await audit(routes);
    expect(requests.filter((r) => r.startsWith("/apis/argoproj.io") || r === "/apis")).toEqual([]);
    expect(of(report, "Rollout")).toEqual([]);
  });

  test("a group the cluster does not serve is a note, as a missing CRD", async () => {
    const routes = recordedRoutes();
    routes["/apis"] = discovery(["example.com"]);
    const { code, report, requests } = await audit(routes, ["--config", config]);
    expect(code).toBe(1);
    expect(requests.filter((r) => r.startsWith("/apis/argoproj.io"))).toEqual([]);
    expect(report!.notes).toContain("argoproj.io Rollout is not served (its CRD is not installed)");
    expect(report!.errors).toEqual([]);
  });

  test("a served group without the rollouts resource (404) is the missing-CRD note of its version", async () => {
    const routes = recordedRoutes();
    routes["/apis"] = discovery(["argoproj.io"]);
    const { report } = await audit(routes, ["--config", config]);
    expect(report!.notes).toContain("argoproj.io/v1alpha1 Rollout is not served (its CRD is not installed)");
    expect(report!.errors).toEqual([]);
  });

  test("a refused list (403) of a served resource is the missing-permission error; exit 2", async () => {
    const routes = recordedRoutes();
    routes["/apis"] = discovery(["argoproj.io"]);
    routes["/apis/argoproj.io/v1alpha1/rollouts"] = {
      status: 403,
      body: {
        kind: "Status",
        apiVersion: "v1",
        status: "Failure",
        reason: "Forbidden",
        code: 403,
        message: 'rollouts.argoproj.io is forbidden: User "auditor" cannot list resource "rollouts"',
      },
    };
    routes["/apis/argoproj.io/v1alpha1"] = {
      body: {
        kind: "APIResourceList",
        apiVersion: "v1",
        groupVersion: "argoproj.io/v1alpha1",
        resources: [
          { name: "rollouts", singularName: "rollout", namespaced: true, kind: "Rollout", verbs: ["list"] },
        ],
      },
    };
    const { code, report } = await audit(routes, ["--config", config]);
    expect(code).toBe(2);
    expect(report!.errors.map((e) => e.message)).toEqual([
      "missing permission: list rollouts (argoproj.io) — grant it or run with --namespace",
    ]);
    expect(of(report, "Rollout")).toEqual([]);
  });

  test("--namespace lists the Rollouts of that namespace only", async () => {
    const routes: Routes = {
      "/version": recordedRoutes()["/version"]!,
      "/api/v1/namespaces": {
        fieldSelector: "metadata.name=legacy",
        body: {
          kind: "NamespaceList",
          apiVersion: "v1",
          metadata: {},
          items: [{ metadata: { name: "legacy" } }],
        },
      },
      "/apis": discovery(["argoproj.io"]),
      "/apis/argoproj.io/v1alpha1/namespaces/legacy/rollouts": rolloutList([badRollout]),
    };
    const { report, requests } = await audit(routes, ["--config", config, "--namespace", "legacy"]);
    expect(requests).toContain("/apis/argoproj.io/v1alpha1/namespaces/legacy/rollouts?limit=500");
    expect(requests).not.toContain("/apis/argoproj.io/v1alpha1/rollouts?limit=500");
    expect(of(report, "Rollout").map((f) => f.rule)).toContain("run-as-root");
  });
});
