import { createServer } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { afterEach, describe, expect, test } from "vitest";
import { runAudit } from "../../src/cli/audit.js";
import { captureIO } from "../cli/helpers.js";
import { type FakeApiserver, type Routes, recordedRoutes, startFakeApiserver } from "./fakeApiserver.js";

// web-tls in the recording expires 60 days after 2026-11-23; this is 12 or 13 days before that.
const NOW = new Date("2027-01-10T00:00:00Z");

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
  file: null;
  line: null;
  message: string;
}

async function audit(routes: Routes, args: string[] = []) {
  fake = await startFakeApiserver(routes);
  const server = fake;
  const captured = captureIO();
  const code = await runAudit([...args, "--output", "json"], captured.io, {
    kubeConfig: () => server.kubeConfig(),
    now: () => NOW,
  });
  const stdout = captured.stdout();
  const report = stdout
    ? (JSON.parse(stdout) as {
        findings: JsonFinding[];
        errors: { message: string }[];
        notes: string[];
        summary: Record<string, number>;
      })
    : undefined;
  return { code, report, stderr: captured.stderr(), requests: server.requests };
}

describe("tollgate audit against recorded apiserver responses", () => {
  test("lists every kind page by page and reports rules and checklist findings", async () => {
    const { code, report, requests } = await audit(recordedRoutes());
    expect(code).toBe(1);
    expect(requests).toContain("/api/v1/namespaces?continue=page-2&limit=500");
    expect(requests).toContain("/api/v1/secrets?fieldSelector=type%3Dkubernetes.io%2Ftls&limit=500");
    expect(requests).toContain("/api/v1/secrets?fieldSelector=type%3Dhelm.sh%2Frelease.v1&limit=500");
    expect(report!.findings.map((f) => `${f.severity} ${f.rule} ${f.kind} ${f.namespace}/${f.name}`)).toEqual(
      [
        "warn namespace-pss-label-missing Namespace /legacy",
        "warn namespace-default-deny-missing Namespace /legacy",
        "warn namespace-limitrange-missing Namespace /legacy",
        "warn namespace-resourcequota-missing Namespace /legacy",
        "warn namespace-dns-egress-missing Namespace /locked",
        "deny container-requests-missing Deployment legacy/api",
        "deny container-limits-missing Deployment legacy/api",
        "deny run-as-root Deployment legacy/api",
        "deny privilege-escalation-allowed Deployment legacy/api",
        "warn capabilities-not-dropped Deployment legacy/api",
        "warn seccomp-profile-missing Deployment legacy/api",
        "warn writable-root-filesystem Deployment legacy/api",
        "warn service-account-token-automounted Deployment legacy/api",
        "warn liveness-probe-missing Deployment legacy/api",
        "warn readiness-probe-missing Deployment legacy/api",
        "warn workload-pdb-missing Deployment legacy/api",
        "warn rbac-secrets-access Role shop/secret-reader",
        "deny rbac-cluster-admin-binding ClusterRoleBinding /ops-admin",
        "warn secrets-readers User /alice@example.com",
        "warn secrets-readers ServiceAccount shop/ci",
        "warn helm-release-hygiene Secret legacy/sh.helm.release.v1.api.v2",
        "warn backup-schedule-missing Cluster /cluster",
        "warn autoscaler-missing Cluster /cluster",
        "warn monitoring-missing Cluster /cluster",
        "warn server-version-unsupported Cluster /cluster",
        "warn tls-secret-expiring Secret shop/web-tls",
      ],
    );
    const tls = report!.findings.find((f) => f.rule === "tls-secret-expiring")!;
    expect(tls.message).toMatch(
      /^the certificate in Secret shop\/web-tls expires on 2027-01-2\d, in 1[23] days$/,
    );
    expect(tls.file).toBeNull();
    expect(tls.line).toBeNull();
    expect(report!.findings.find((f) => f.rule === "helm-release-hygiene")?.message).toBe(
      "Helm release legacy/api: its last revision 2 failed",
    );
    expect(report!.notes).toEqual([
      "velero.io/v1 Schedule is not served (its CRD is not installed)",
      "monitoring.coreos.com/v1 Prometheus is not served (its CRD is not installed)",
      "monitoring.coreos.com/v1 PrometheusRule is not served (its CRD is not installed)",
      "karpenter.sh/v1 NodePool is not served (its CRD is not installed)",
      "cert-manager.io/v1 Certificate is not served (its CRD is not installed)",
      "apiserver-flags-insecure: the kube-apiserver flags are not visible from the API (managed control plane?)",
    ]);
    expect(report!.errors).toEqual([]);
    // Not judged: the owned ReplicaSet and Pod, the built-in cluster-admin ClusterRole and
    // ClusterRoleBinding, and the kube-system Namespace and RoleBinding (an excluded namespace).
    expect(report!.summary).toMatchObject({ skipped: 6, deny: 5, warn: 21, errors: 0 });
  });

  test("a refused list is an error naming verb and resource; its items are skipped; exit 2", async () => {
    const routes = recordedRoutes();
    routes["/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"] = {
      status: 403,
      body: {
        kind: "Status",
        apiVersion: "v1",
        status: "Failure",
        reason: "Forbidden",
        code: 403,
        message:
          'clusterrolebindings.rbac.authorization.k8s.io is forbidden: User "auditor" cannot list resource "clusterrolebindings" in API group "rbac.authorization.k8s.io" at the cluster scope',
      },
    };
    const { code, report } = await audit(routes);
    expect(code).toBe(2);
    expect(report!.errors).toEqual([
      {
        file: null,
        line: null,
        message:
          "missing permission: list clusterrolebindings (rbac.authorization.k8s.io) — grant it or run with --namespace",
      },
    ]);
    expect(report!.notes).toContain(
      "cluster-admin-binding: skipped, missing permission to list clusterrolebindings (rbac.authorization.k8s.io)",
    );
    expect(report!.notes).toContain(
      "secrets-readers: skipped, missing permission to list clusterrolebindings (rbac.authorization.k8s.io)",
    );
    expect(report!.findings.some((f) => f.rule === "cluster-admin-binding")).toBe(false);
  });

  test("a CRD list refused with 403 is a missing CRD when discovery does not serve it", async () => {
    // kube-apiserver authorizes before it routes: a user without the permission gets 403, not 404,
    // for a resource whose CRD is not installed. Discovery tells the two apart.
    const forbidden = (plural: string, group: string) => ({
      status: 403,
      body: {
        kind: "Status",
        apiVersion: "v1",
        status: "Failure",
        reason: "Forbidden",
        code: 403,
        message: `${plural}.${group} is forbidden: User "auditor" cannot list resource "${plural}" in API group "${group}" at the cluster scope`,
      },
    });
    const routes = recordedRoutes();
    routes["/apis/velero.io/v1/schedules"] = forbidden("schedules", "velero.io");
    routes["/apis/monitoring.coreos.com/v1/prometheuses"] = forbidden(
      "prometheuses",
      "monitoring.coreos.com",
    );
    routes["/apis/monitoring.coreos.com/v1"] = {
      body: {
        kind: "APIResourceList",
        apiVersion: "v1",
        groupVersion: "monitoring.coreos.com/v1",
        resources: [
          {
            name: "prometheuses",
            singularName: "prometheus",
            namespaced: true,
            kind: "Prometheus",
            verbs: ["list"],
          },
        ],
      },
    };
    const { code, report, requests } = await audit(routes);
    expect(requests).toContain("/apis/velero.io/v1");
    expect(code).toBe(2);
    expect(report!.errors.map((e) => e.message)).toEqual([
      "missing permission: list prometheuses (monitoring.coreos.com) — grant it or run with --namespace",
    ]);
    expect(report!.notes).toEqual([
      "velero.io/v1 Schedule is not served (its CRD is not installed)",
      "monitoring.coreos.com/v1 PrometheusRule is not served (its CRD is not installed)",
      "karpenter.sh/v1 NodePool is not served (its CRD is not installed)",
      "cert-manager.io/v1 Certificate is not served (its CRD is not installed)",
      "apiserver-flags-insecure: the kube-apiserver flags are not visible from the API (managed control plane?)",
      "monitoring-missing: skipped, missing permission to list prometheuses (monitoring.coreos.com)",
    ]);
    expect(report!.findings.find((f) => f.rule === "backup-schedule-missing")?.message).toBe(
      "no backup is scheduled: Velero is not installed (velero.io/v1 Schedule is not served) and no CronJob backs up etcd",
    );
  });

  function legacyRoutes(): Routes {
    const routes: Routes = {};
    for (const [path, route] of Object.entries(recordedRoutes())) {
      const match = /^\/(api\/v1|apis\/[^/]+\/v1)\/([a-z]+)(\?.*)?$/.exec(path);
      if (match && path !== "/api/v1/namespaces")
        routes[`/${match[1]}/namespaces/legacy/${match[2]}${match[3] ?? ""}`] = route;
    }
    routes["/api/v1/namespaces"] = {
      fieldSelector: "metadata.name=legacy",
      body: {
        kind: "NamespaceList",
        apiVersion: "v1",
        metadata: {},
        items: [{ metadata: { name: "legacy" } }],
      },
    };
    routes["/version"] = recordedRoutes()["/version"]!;
    return routes;
  }

  test("--namespace lists namespaced kinds in that namespace only and skips cluster-wide items", async () => {
    const { report, requests } = await audit(legacyRoutes(), ["--namespace", "legacy"]);
    expect(requests.some((r) => r.includes("clusterrolebindings"))).toBe(false);
    expect(requests).toContain("/apis/apps/v1/namespaces/legacy/deployments?limit=500");
    expect(report!.notes).toContain(
      "cluster-admin-binding: skipped, it needs the whole cluster (audit without --namespace)",
    );
    expect(report!.findings.map((f) => f.rule)).toContain("namespace-limitrange-missing");
  });

  test("--rule, --skip-rule and --min-severity narrow the report to rules and checklist items", async () => {
    const only = await audit(recordedRoutes(), ["--rule", "run-as-root", "--rule", "secrets-readers"]);
    expect([...new Set(only.report!.findings.map((f) => f.rule))]).toEqual([
      "run-as-root",
      "secrets-readers",
    ]);
    expect(only.code).toBe(1);
    const skipped = await audit(recordedRoutes(), [
      "--skip-rule",
      "secrets-readers",
      "--min-severity",
      "deny",
    ]);
    expect(skipped.report!.findings.map((f) => `${f.rule} ${f.name}`)).toEqual([
      "container-requests-missing api",
      "container-limits-missing api",
      "run-as-root api",
      "privilege-escalation-allowed api",
      "rbac-cluster-admin-binding ops-admin",
    ]);
    expect(skipped.report!.summary).toMatchObject({ findings: 5, deny: 5, warn: 0 });
  });

  test("an unknown --rule id is a usage error with the nearest id, before the cluster is asked", async () => {
    const { code, report, stderr, requests } = await audit(recordedRoutes(), [
      "--skip-rule",
      "secret-readers",
    ]);
    expect(code).toBe(2);
    expect(report).toBeUndefined();
    expect(requests).toEqual([]);
    expect(stderr).toBe(
      `tollgate audit: --skip-rule "secret-readers" is no rule (did you mean secrets-readers?); 'tollgate rules' lists them\nRun 'tollgate audit --help' for usage.\n`,
    );
  });

  test("--namespace: the text summary names the namespace, not the cluster", async () => {
    fake = await startFakeApiserver(legacyRoutes());
    const server = fake;
    const captured = captureIO();
    const code = await runAudit(["--namespace", "legacy"], captured.io, {
      kubeConfig: () => server.kubeConfig(),
      now: () => NOW,
    });
    expect(code).toBe(1);
    expect(captured.stdout().trimEnd().split("\n").at(-1)).toBe(
      "18 findings (4 deny, 14 warn) in 11 objects in namespace legacy, 3 skipped (enforce mode), score 87",
    );
  });

  test("--output html: the page counts what the text summary counts, and scores the namespace", async () => {
    fake = await startFakeApiserver(legacyRoutes());
    const server = fake;
    const captured = captureIO();
    const code = await runAudit(["--namespace", "legacy", "--output", "html"], captured.io, {
      kubeConfig: () => server.kubeConfig(),
      now: () => NOW,
    });
    expect(code).toBe(1);
    const html = captured.stdout();
    expect(html).toContain('<p class="meta">enforce mode · namespace legacy · tollgate ');
    expect(html).toContain(" · 2027-01-10T00:00:00.000Z</p>");
    expect(html).toContain('<dd id="summary-findings">18</dd>');
    expect(html).toContain('<dd id="summary-deny">4</dd>');
    expect(html).toContain('<dd id="summary-skipped">3</dd>');
    // Worst first: of legacy's two judged objects, the Deployment has deny findings.
    expect(html.match(/<tr data-namespace=.*/g)).toEqual([
      '<tr data-namespace="ns:legacy"><td>legacy</td><td class="num">2</td><td class="num">1</td><td class="num">12</td><td class="num score">50</td><td class="ready"><span class="no">no</span></td></tr>',
      '<tr data-namespace="ns:"><td>(cluster-scoped)</td><td class="num">1</td><td class="num">0</td><td class="num">4</td><td class="num score">100</td><td class="ready"><span class="yes">yes</span></td></tr>',
      '<tr data-namespace="ns:shop"><td>shop</td><td class="num">5</td><td class="num">0</td><td class="num">2</td><td class="num score">100</td><td class="ready"><span class="yes">yes</span></td></tr>',
    ]);
  });

  test("--namespace naming a namespace that does not exist exits 2 instead of a clean report", async () => {
    const { code, report, stderr, requests } = await audit(
      {
        "/version": recordedRoutes()["/version"]!,
        "/api/v1/namespaces": {
          fieldSelector: "metadata.name=legasy",
          body: { kind: "NamespaceList", apiVersion: "v1", metadata: {}, items: [] },
        },
      },
      ["--namespace", "legasy"],
    );
    expect(code).toBe(2);
    expect(report).toBeUndefined();
    expect(stderr).toBe(`tollgate audit: namespace legasy does not exist in the cluster at ${fake!.url}\n`);
    expect(requests).toEqual([
      "/version",
      "/api/v1/namespaces?fieldSelector=metadata.name%3Dlegasy&limit=500",
    ]);
  });

  test("an unreachable cluster exits 2 and names the server", async () => {
    const port = await new Promise<number>((done) => {
      const probe = createServer();
      probe.listen(0, "127.0.0.1", () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => done(port));
      });
    });
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: "gone", server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: "u", token: "t" }],
      contexts: [{ name: "gone", cluster: "gone", user: "u" }],
      currentContext: "gone",
    });
    const captured = captureIO();
    const code = await runAudit([], captured.io, { kubeConfig: () => kc });
    expect(code).toBe(2);
    expect(captured.stdout()).toBe("");
    expect(captured.stderr()).toMatch(
      new RegExp(
        `^tollgate audit: cannot reach the cluster at http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`,
      ),
    );
  });

  test("credentials the cluster refuses exit 2 with what to check", async () => {
    const { code, stderr } = await audit({
      "/version": { status: 401, body: { kind: "Status", code: 401, message: "Unauthorized" } },
    });
    expect(code).toBe(2);
    expect(stderr).toBe(
      `tollgate audit: the cluster at ${fake!.url} refused the credentials (401 Unauthorized): check the user of the context\n`,
    );
  });

  test("a kubeconfig that does not exist, or a context it lacks, exits 2", async () => {
    let captured = captureIO();
    expect(await runAudit(["--kubeconfig", "no/such/kubeconfig"], captured.io)).toBe(2);
    expect(captured.stderr()).toBe("tollgate audit: cannot load no/such/kubeconfig: ENOENT\n");
    captured = captureIO();
    expect(
      await runAudit(
        ["--kubeconfig", "test/fixtures/audit/kubeconfig.yaml", "--context", "prod"],
        captured.io,
      ),
    ).toBe(2);
    expect(captured.stderr()).toBe(
      'tollgate audit: context "prod" is not in test/fixtures/audit/kubeconfig.yaml (contexts: dev, staging)\n',
    );
  });
});

test("a kubeconfig the client cannot use (plain HTTP without skipTLSVerify) stops at the first call", async () => {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "plain", server: "http://127.0.0.1:1" }],
    users: [{ name: "u", token: "t" }],
    contexts: [{ name: "plain", cluster: "plain", user: "u" }],
    currentContext: "plain",
  });
  const captured = captureIO();
  expect(await runAudit([], captured.io, { kubeConfig: () => kc })).toBe(2);
  expect(captured.stderr()).toBe(
    "tollgate audit: cannot reach the cluster at http://127.0.0.1:1: HTTP protocol is not allowed when skipTLSVerify is not set or false\n",
  );
});
