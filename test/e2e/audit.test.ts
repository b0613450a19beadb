/**
 * `tollgate audit` against the real kube-apiserver of the end-to-end control plane: a seeded cluster
 * (test/e2e/fixtures/audit/cluster.yaml and checklist.yaml, plus Helm release and TLS Secrets made
 * here) with objects that trip each checklist item and objects that pass, audited as the admin, per
 * namespace, as an ordinary user (`edit`), as a read-only one (`view`), against a closed port and
 * with refused credentials, and finally with the CRDs of Velero, the Prometheus operator, Karpenter
 * and cert-manager and tollgate's webhook configuration installed. No webhook intercepts anything
 * here, so every object is stored as sent.
 */
import { X509Certificate } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { generate } from "selfsigned";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { planAudit } from "../../src/audit/plan.js";
import { runAudit } from "../../src/cli/audit.js";
import { runCheck } from "../../src/cli/check.js";
import { DEFAULT_CONFIG } from "../../src/config/load.js";
import { compilePolicy } from "../../src/engine/policy.js";
import { RULES } from "../../src/rules/index.js";
import { captureIO } from "../cli/helpers.js";
import { type ControlPlane, startControlPlane, USER_BINDING_NAME, USER_NAME } from "./controlplane.js";
import { apiVersionOf, KINDS } from "../../src/objects/kinds.js";
import { helmReleaseSecret } from "../support/helmRelease.js";
import { ROLLOUT_CRD } from "./manifests.js";

// The first run builds kube-apiserver, kubectl and etcd (7-11 min on 2 cores); later runs use the cache.
const BUILD_AND_START_TIMEOUT_MS = 45 * 60 * 1000;
const FIXTURES = "test/e2e/fixtures/audit";
const DAY_MS = 86_400_000;
/** ServiceAccounts added to `shop`, more than one page of 500. */
const BULK_SERVICE_ACCOUNTS = 520;

interface JsonFinding {
  rule: string;
  severity: string;
  kind: string;
  namespace: string;
  name: string;
  file: string | null;
  line: number | null;
  path: string;
  message: string;
}

interface JsonReport {
  findings: JsonFinding[];
  errors: { file: null; line: null; message: string }[];
  notes: string[];
  summary: Record<string, number>;
}

const NAMESPACE_ONLY_NOTES = [
  // certificate-not-ready runs per namespace, so Certificates are listed there too.
  "cert-manager.io/v1 Certificate is not served (its CRD is not installed)",
  ...[
    "cluster-admin-binding",
    "workload-on-system-nodes",
    "secrets-readers",
    "apiserver-flags-insecure",
    "backup-schedule-missing",
    "autoscaler-missing",
    "monitoring-missing",
    "alerts-missing",
    "server-version-unsupported",
    "tollgate-webhook-missing",
    "tollgate-webhook-cert-expiring",
  ].map((id) => `${id}: skipped, it needs the whole cluster (audit without --namespace)`),
];

const CRD_NOTES = [
  "velero.io/v1 Schedule is not served (its CRD is not installed)",
  "monitoring.coreos.com/v1 Prometheus is not served (its CRD is not installed)",
  "monitoring.coreos.com/v1 PrometheusRule is not served (its CRD is not installed)",
  "karpenter.sh/v1 NodePool is not served (its CRD is not installed)",
  "cert-manager.io/v1 Certificate is not served (its CRD is not installed)",
];

/** The kube-apiserver Pod with kubeadm's default flags: no encryption, no audit log, anonymous on. */
const APISERVER_FINDINGS = Array<string>(3).fill(
  "warn apiserver-flags-insecure Pod kube-system/kube-apiserver-cp2",
);

/** legacy/api's failed revision holding a password, legacy/worker's 11 revisions. */
const HELM_FINDINGS = [
  "warn helm-release-hygiene Secret legacy/sh.helm.release.v1.api.v2",
  "warn helm-release-hygiene Secret legacy/sh.helm.release.v1.api.v2",
  "warn helm-release-hygiene Secret legacy/sh.helm.release.v1.worker.v11",
];

/** No Velero, no node autoscaler, no Prometheus operator. */
const MISSING_FINDINGS = [
  "warn backup-schedule-missing Cluster /cluster",
  "warn autoscaler-missing Cluster /cluster",
  "warn monitoring-missing Cluster /cluster",
];

const TLS_FINDINGS = [
  "warn tls-secret-expiring Secret legacy/api-tls",
  "warn tls-secret-expiring Secret legacy/short-tls",
  "warn tls-secret-short-lived Secret legacy/short-tls",
];

/** What `view` may not list: each is an error, the items that need it are skipped with a note. */
const VIEW_REFUSED = [
  "podtemplates (core)",
  "secrets (core)",
  "roles (rbac.authorization.k8s.io)",
  "clusterroles (rbac.authorization.k8s.io)",
  "rolebindings (rbac.authorization.k8s.io)",
  "clusterrolebindings (rbac.authorization.k8s.io)",
  "validatingwebhookconfigurations (admissionregistration.k8s.io)",
  "nodes (core)",
];

/** The findings on `legacy` and its objects, in report order (without the Namespace's own). */
const LEGACY_OBJECT_FINDINGS = [
  "deny container-requests-missing Deployment legacy/api",
  "deny container-limits-missing Deployment legacy/api",
  "deny run-as-root Deployment legacy/api",
  "deny privilege-escalation-allowed Deployment legacy/api",
  "warn capabilities-not-dropped Deployment legacy/api",
  "warn seccomp-profile-missing Deployment legacy/api",
  "warn writable-root-filesystem Deployment legacy/api",
  "warn default-service-account Deployment legacy/api",
  "warn service-account-token-automounted Deployment legacy/api",
  "warn liveness-probe-missing Deployment legacy/api",
  "warn readiness-probe-missing Deployment legacy/api",
  "warn workload-pdb-missing Deployment legacy/api",
];

const namespaceFindings = (name: string) => [
  `warn namespace-pss-label-missing Namespace /${name}`,
  `warn namespace-default-deny-missing Namespace /${name}`,
  `warn namespace-limitrange-missing Namespace /${name}`,
  `warn namespace-resourcequota-missing Namespace /${name}`,
];

const line = (f: JsonFinding) => `${f.severity} ${f.rule} ${f.kind} ${f.namespace}/${f.name}`;

/** A port nothing listens on: bound, read, released. */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

async function certificate(commonName: string, days: number, ca: boolean) {
  const now = Date.now();
  const pem = await generate([{ name: "commonName", value: commonName }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    notBeforeDate: new Date(now - DAY_MS),
    // An hour past the day, so that "in N days" does not depend on how long the test takes.
    notAfterDate: new Date(now + days * DAY_MS + 3_600_000),
    extensions: ca
      ? [{ name: "basicConstraints", cA: true, critical: true }]
      : [{ name: "basicConstraints", cA: false }],
  });
  return { cert: pem.cert, key: pem.private, notAfter: new Date(new X509Certificate(pem.cert).validTo) };
}

describe("tollgate audit against a real kube-apiserver", () => {
  let cp: ControlPlane;
  let expiring: Date;
  let shortExpiry: Date;

  async function kubectl(args: string[], input?: string) {
    const r = await cp.kubectl(args, input === undefined ? {} : { input });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} failed (${r.code}): ${r.stderr}`);
    return r;
  }

  /** A kubeconfig file that authenticates with a bearer token. */
  function tokenKubeconfig(name: string, token: string): string {
    const kubeconfig = join(cp.dir, `${name}.kubeconfig`);
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [
          {
            name: "e2e",
            cluster: {
              server: cp.apiserverUrl,
              "certificate-authority-data": Buffer.from(cp.caCertPem).toString("base64"),
            },
          },
        ],
        users: [{ name, user: { token } }],
        contexts: [{ name: "e2e", context: { cluster: "e2e", user: name } }],
        "current-context": "e2e",
      }),
    );
    return kubeconfig;
  }

  async function audit(args: string[], kubeconfig = cp.adminKubeconfig) {
    const captured = captureIO();
    const code = await runAudit(["--kubeconfig", kubeconfig, "--output", "json", ...args], captured.io);
    const stdout = captured.stdout();
    return {
      code,
      report: stdout === "" ? undefined : (JSON.parse(stdout) as JsonReport),
      stdout,
      stderr: captured.stderr(),
    };
  }

  beforeAll(async () => {
    cp = await startControlPlane();
    for (const namespace of ["shop", "legacy", "locked"]) await cp.createNamespace(namespace);
    await kubectl(["apply", "-f", "-"], readFileSync(join(FIXTURES, "cluster.yaml"), "utf8"));
    await kubectl(["apply", "-f", "-"], readFileSync(join(FIXTURES, "checklist.yaml"), "utf8"));
    const tls = async (namespace: string, name: string, days: number) => {
      const { cert, key, notAfter } = await certificate(`${name}.${namespace}.example`, days, false);
      return {
        secret: {
          apiVersion: "v1",
          kind: "Secret",
          type: "kubernetes.io/tls",
          metadata: { name, namespace },
          data: {
            "tls.crt": Buffer.from(cert).toString("base64"),
            "tls.key": Buffer.from(key).toString("base64"),
          },
        },
        notAfter,
      };
    };
    const valid = await tls("shop", "web-tls", 365);
    const soon = await tls("legacy", "api-tls", 10);
    expiring = soon.notAfter;
    // Issued a day ago for 3 days and an hour: expiring and short-lived both.
    const short = await tls("legacy", "short-tls", 2);
    shortExpiry = short.notAfter;
    // Release Secrets as Helm writes them: legacy/api's upgrade failed and put a password in its
    // values; legacy/worker keeps 11 revisions; shop/web is deployed with a reference to a Secret.
    const releases = [
      helmReleaseSecret({ name: "api", namespace: "legacy", revision: 1, status: "superseded" }),
      helmReleaseSecret({
        name: "api",
        namespace: "legacy",
        revision: 2,
        status: "failed",
        config: { auth: { password: "e2e-literal" }, replicas: 2 },
      }),
      ...Array.from({ length: 11 }, (_, i) =>
        helmReleaseSecret({
          name: "worker",
          namespace: "legacy",
          revision: i + 1,
          status: i === 10 ? "deployed" : "superseded",
        }),
      ),
      helmReleaseSecret({
        name: "web",
        namespace: "shop",
        revision: 1,
        status: "deployed",
        config: { auth: { existingSecret: "web-credentials" } },
      }),
    ];
    const bulk = Array.from({ length: BULK_SERVICE_ACCOUNTS }, (_, i) => ({
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: `batch-${String(i).padStart(3, "0")}`, namespace: "shop" },
      automountServiceAccountToken: false,
    }));
    await kubectl(
      ["create", "-f", "-"],
      JSON.stringify({
        apiVersion: "v1",
        kind: "List",
        items: [valid.secret, soon.secret, short.secret, ...releases, ...bulk],
      }),
    );
  }, BUILD_AND_START_TIMEOUT_MS);

  afterAll(async () => {
    await cp?.stop();
  });

  test("reports exactly the seeded violations and nothing on the compliant objects; exit 1", async () => {
    expect(cp.kubernetesVersion).toMatch(/^v1\.37\./);
    const { code, report, stderr } = await audit([]);
    expect(stderr).toBe("");
    expect(code).toBe(1);
    expect(report!.findings.map(line)).toEqual([
      // `default` is an application namespace the apiserver creates; the kube-* ones are excluded.
      ...namespaceFindings("default"),
      ...namespaceFindings("legacy"),
      "warn namespace-dns-egress-missing Namespace /locked",
      ...APISERVER_FINDINGS,
      "warn secrets-readers ServiceAccount legacy/ci",
      ...LEGACY_OBJECT_FINDINGS,
      // Passes every rule, but tolerates the control-plane taint.
      "warn workload-on-system-nodes Deployment legacy/batch",
      "warn rbac-secrets-access Role legacy/secret-reader",
      // The rule's finding stands for the checklist item cluster-admin-binding on the same binding.
      "deny rbac-cluster-admin-binding ClusterRoleBinding /ops-admin",
      // A control-plane node without its taint (cp1 has it).
      "warn workload-on-system-nodes Node /cp2",
      "warn secrets-readers User /ops@example.com",
      // The harness binds alice to `edit`, which reads Secrets.
      `warn secrets-readers User /${USER_NAME}`,
      ...HELM_FINDINGS,
      ...MISSING_FINDINGS,
      ...TLS_FINDINGS,
      "warn tollgate-webhook-missing ValidatingWebhookConfiguration /tollgate",
    ]);
    const message = (rule: string, name: string) =>
      report!.findings.find((f) => f.rule === rule && f.name === name)?.message;
    expect(message("secrets-readers", "ci")).toBe(
      "ServiceAccount legacy/ci can read Secrets in legacy via RoleBinding ci-secrets (Role secret-reader)",
    );
    expect(message("secrets-readers", USER_NAME)).toBe(
      `User ${USER_NAME} can read Secrets cluster-wide via ClusterRoleBinding ${USER_BINDING_NAME} (ClusterRole edit)`,
    );
    expect(message("workload-pdb-missing", "api")).toBe(
      "Deployment api runs 2 replicas and no PodDisruptionBudget selects its Pods",
    );
    expect(message("backup-schedule-missing", "cluster")).toBe(
      "no backup is scheduled: Velero is not installed (velero.io/v1 Schedule is not served) and no CronJob backs up etcd",
    );
    expect(message("monitoring-missing", "cluster")).toBe(
      "no Prometheus operator found: monitoring.coreos.com/v1 Prometheus is not served and no prometheus-operator Deployment runs",
    );
    expect(message("tls-secret-expiring", "api-tls")).toBe(
      `the certificate in Secret legacy/api-tls expires on ${expiring.toISOString().slice(0, 10)}, in 10 days`,
    );
    expect(message("tls-secret-short-lived", "short-tls")).toBe(
      "the certificate in Secret legacy/short-tls was issued for 3 days, less than the 7 days of minCertificateValidityDays",
    );
    expect(
      report!.findings.find((f) => f.rule === "tls-secret-expiring" && f.name === "short-tls")?.message,
    ).toBe(
      `the certificate in Secret legacy/short-tls expires on ${shortExpiry.toISOString().slice(0, 10)}, in 2 days`,
    );
    const about = (rule: string) =>
      report!.findings.filter((f) => f.rule === rule).map((f) => `${f.name} | ${f.path} | ${f.message}`);
    expect(about("apiserver-flags-insecure")).toEqual([
      "kube-apiserver-cp2 | spec.containers[name=kube-apiserver].command | kube-apiserver runs without --encryption-provider-config: Secrets are stored unencrypted in etcd",
      "kube-apiserver-cp2 | spec.containers[name=kube-apiserver].command | kube-apiserver keeps no audit log: neither --audit-log-path nor --audit-webhook-config-file is set",
      "kube-apiserver-cp2 | spec.containers[name=kube-apiserver].command | kube-apiserver accepts anonymous requests: --anonymous-auth is not set (it defaults to true)",
    ]);
    expect(about("helm-release-hygiene")).toEqual([
      "sh.helm.release.v1.api.v2 | data.release | Helm release legacy/api: its last revision 2 failed",
      "sh.helm.release.v1.api.v2 | data.release | Helm release legacy/api sets the value auth.password to a literal credential",
      "sh.helm.release.v1.worker.v11 | metadata.name | Helm release legacy/worker keeps 11 revisions, more than 10 (helmMaxRevisions)",
    ]);
    expect(about("workload-on-system-nodes")).toEqual([
      "batch | spec.template.spec.tolerations[0] | Deployment batch tolerates the system taint node-role.kubernetes.io/control-plane:NoSchedule: it can be scheduled on system nodes",
      "cp2 | spec.taints | node cp2 is a control-plane node without a NoSchedule taint: any Pod can be scheduled on it",
    ]);
    // The literal itself appears nowhere in the report.
    expect(JSON.stringify(report)).not.toContain("e2e-literal");
    // Nothing on shop (its Namespace, Deployment with a PDB, Role on one named Secret, TLS Secret valid
    // for a year), and no version finding: v1.37 is the newest minor tollgate knows.
    expect(report!.findings.filter((f) => f.namespace === "shop" || f.name === "shop")).toEqual([]);
    expect(report!.findings.map((f) => f.rule)).not.toContain("server-version-unsupported");
    expect(report!.notes).toEqual(CRD_NOTES);
    expect(report!.errors).toEqual([]);
    expect(report!.summary).toMatchObject({ findings: 41, deny: 5, warn: 36, errors: 0 });
  });

  test("reads every object page by page: as many as an unpaged list of each judged kind", async () => {
    const { judged } = planAudit(compilePolicy(DEFAULT_CONFIG), undefined);
    let total = 0;
    for (const kind of judged) {
      const apiVersion = apiVersionOf(KINDS[kind]);
      const path = `/${apiVersion.includes("/") ? "apis" : "api"}/${apiVersion}/${KINDS[kind].resource}`;
      const response = await cp.request("GET", path);
      expect(response.status).toBe(200);
      total += (JSON.parse(response.body) as { items: unknown[] }).items.length;
    }
    expect(total).toBeGreaterThan(BULK_SERVICE_ACCOUNTS + 100);
    const { report } = await audit([]);
    expect(report!.summary.documents).toBe(total);
  });

  test("judges the listed objects as `tollgate check` judges their manifests", async () => {
    const captured = captureIO();
    expect(await runCheck([join(FIXTURES, "cluster.yaml"), "--output", "json"], captured.io)).toBe(1);
    const checked = (JSON.parse(captured.stdout()) as JsonReport).findings;
    const { report } = await audit([]);
    const inFixture = new Set(checked.map((f) => `${f.kind} ${f.namespace}/${f.name}`));
    const byRules = (findings: JsonFinding[]) =>
      findings
        .filter((f) => RULES.has(f.rule) && inFixture.has(`${f.kind} ${f.namespace}/${f.name}`))
        .map((f) => `${line(f)} at ${f.path}: ${f.message}`);
    expect(byRules(report!.findings)).toEqual(byRules(checked));
    expect(byRules(checked)).toContain(
      'deny rbac-cluster-admin-binding ClusterRoleBinding /ops-admin at subjects[0]: binds cluster-admin to User "ops@example.com"',
    );
  });

  test("--namespace lists one namespace and skips the cluster-wide items", async () => {
    const shop = await audit(["--namespace", "shop"]);
    expect(shop.code).toBe(0);
    expect(shop.report!.findings).toEqual([]);
    expect(shop.report!.notes).toEqual(NAMESPACE_ONLY_NOTES);
    // The Namespace, default, web and the bulk ServiceAccounts, the Deployment, the Role and its binding.
    expect(shop.report!.summary).toMatchObject({ documents: 1 + 2 + BULK_SERVICE_ACCOUNTS + 3, errors: 0 });

    const legacy = await audit(["-n", "legacy"]);
    expect(legacy.code).toBe(1);
    expect(legacy.report!.findings.map(line)).toEqual([
      ...namespaceFindings("legacy"),
      ...LEGACY_OBJECT_FINDINGS,
      "warn rbac-secrets-access Role legacy/secret-reader",
      ...HELM_FINDINGS,
      ...TLS_FINDINGS,
    ]);
    expect(legacy.report!.notes).toEqual(NAMESPACE_ONLY_NOTES);

    const missing = await audit(["--namespace", "legasy"]);
    expect(missing).toMatchObject({ code: 2, stdout: "" });
    expect(missing.stderr).toBe(
      `tollgate audit: namespace legasy does not exist in the cluster at ${cp.apiserverUrl}\n`,
    );
  });

  test("as a user bound to `edit`: each refused list is an error naming verb and resource; exit 2", async () => {
    const { code, report, stderr } = await audit([], cp.userKubeconfig);
    expect(stderr).toBe("");
    expect(code).toBe(2);
    expect(report!.errors.map((e) => e.message)).toEqual(
      [
        "podtemplates (core)",
        "roles (rbac.authorization.k8s.io)",
        "clusterroles (rbac.authorization.k8s.io)",
        "rolebindings (rbac.authorization.k8s.io)",
        "clusterrolebindings (rbac.authorization.k8s.io)",
        "validatingwebhookconfigurations (admissionregistration.k8s.io)",
        "nodes (core)",
      ].map((resource) => `missing permission: list ${resource} — grant it or run with --namespace`),
    );
    // The apiserver answers 403, not 404, for the missing Velero and Prometheus CRDs (it authorizes
    // before it routes); discovery shows they are not installed, which is the answer, not an error.
    expect(report!.notes).toEqual([
      ...CRD_NOTES,
      "cluster-admin-binding: skipped, missing permission to list clusterrolebindings (rbac.authorization.k8s.io), rolebindings (rbac.authorization.k8s.io)",
      "workload-on-system-nodes: skipped, missing permission to list nodes (core)",
      "secrets-readers: skipped, missing permission to list roles (rbac.authorization.k8s.io), clusterroles (rbac.authorization.k8s.io), rolebindings (rbac.authorization.k8s.io), clusterrolebindings (rbac.authorization.k8s.io)",
      "tollgate-webhook-missing: skipped, missing permission to list validatingwebhookconfigurations (admissionregistration.k8s.io)",
      "tollgate-webhook-cert-expiring: skipped, missing permission to list validatingwebhookconfigurations (admissionregistration.k8s.io)",
    ]);
    // What could be read is still judged; the RBAC objects and the Nodes could not be.
    expect(report!.findings.map(line)).toEqual([
      ...namespaceFindings("default"),
      ...namespaceFindings("legacy"),
      "warn namespace-dns-egress-missing Namespace /locked",
      ...APISERVER_FINDINGS,
      ...LEGACY_OBJECT_FINDINGS,
      ...HELM_FINDINGS,
      ...MISSING_FINDINGS,
      ...TLS_FINDINGS,
    ]);

    const legacy = await audit(["--namespace", "legacy"], cp.userKubeconfig);
    expect(legacy.code).toBe(2);
    expect(legacy.report!.errors.map((e) => e.message)).toEqual(
      [
        "podtemplates (core)",
        "roles (rbac.authorization.k8s.io)",
        "rolebindings (rbac.authorization.k8s.io)",
      ].map(
        (resource) =>
          `missing permission: list ${resource} in namespace legacy — grant it to the user of the context`,
      ),
    );
  });

  test("as a ServiceAccount bound to `view`: a missing permission per unreadable kind, a note per item it skips", async () => {
    const token = (await kubectl(["create", "token", "auditor", "-n", "kube-system"])).stdout.trim();
    const { code, report, stderr } = await audit([], tokenKubeconfig("auditor", token));
    expect(stderr).toBe("");
    expect(code).toBe(2);
    expect(report!.errors.map((e) => e.message)).toEqual(
      VIEW_REFUSED.map(
        (resource) => `missing permission: list ${resource} — grant it or run with --namespace`,
      ),
    );
    const rbac = "rbac.authorization.k8s.io";
    const webhooks = "validatingwebhookconfigurations (admissionregistration.k8s.io)";
    expect(report!.notes).toEqual([
      ...CRD_NOTES,
      `cluster-admin-binding: skipped, missing permission to list clusterrolebindings (${rbac}), rolebindings (${rbac})`,
      "workload-on-system-nodes: skipped, missing permission to list nodes (core)",
      `secrets-readers: skipped, missing permission to list roles (${rbac}), clusterroles (${rbac}), rolebindings (${rbac}), clusterrolebindings (${rbac})`,
      "helm-release-hygiene: skipped, missing permission to list secrets (core)",
      "tls-secret-expiring: skipped, missing permission to list secrets (core)",
      "tls-secret-short-lived: skipped, missing permission to list secrets (core)",
      `tollgate-webhook-missing: skipped, missing permission to list ${webhooks}`,
      `tollgate-webhook-cert-expiring: skipped, missing permission to list ${webhooks}`,
    ]);
    // `view` reads Pods (the kube-apiserver's flags), workloads and Namespaces.
    expect(report!.findings.map(line)).toEqual([
      ...namespaceFindings("default"),
      ...namespaceFindings("legacy"),
      "warn namespace-dns-egress-missing Namespace /locked",
      ...APISERVER_FINDINGS,
      ...LEGACY_OBJECT_FINDINGS,
      ...MISSING_FINDINGS,
    ]);
  });

  test("an unreachable cluster: exit 2 and the server in the message", async () => {
    const port = await closedPort();
    const kubeconfig = join(cp.dir, "closed-port.kubeconfig");
    writeFileSync(
      kubeconfig,
      readFileSync(cp.adminKubeconfig, "utf8").replace(cp.apiserverUrl, `https://127.0.0.1:${port}`),
    );
    const { code, stdout, stderr } = await audit([], kubeconfig);
    expect({ code, stdout }).toEqual({ code: 2, stdout: "" });
    expect(stderr).toBe(
      `tollgate audit: cannot reach the cluster at https://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}\n`,
    );
  });

  test("credentials the apiserver refuses: exit 2 and what to check", async () => {
    const kubeconfig = tokenKubeconfig("nobody", "not-a-valid-token");
    const { code, stdout, stderr } = await audit([], kubeconfig);
    expect({ code, stdout }).toEqual({ code: 2, stdout: "" });
    expect(stderr).toBe(
      `tollgate audit: the cluster at ${cp.apiserverUrl} refused the credentials (401 Unauthorized): check the user of the context\n`,
    );
  });

  test("with the rule rbac-cluster-admin-binding off, the checklist item reports the binding", async () => {
    const { code, report } = await audit(["--config", join(FIXTURES, "config-no-cluster-admin-rule.yaml")]);
    expect(code).toBe(1);
    const admin = report!.findings.filter((f) => f.name === "ops-admin");
    expect(admin.map((f) => [line(f), f.path, f.message])).toEqual([
      [
        "deny cluster-admin-binding ClusterRoleBinding /ops-admin",
        "subjects[0]",
        "ClusterRoleBinding ops-admin grants cluster-admin to User ops@example.com",
      ],
    ]);
  });

  test("with nodePoolKeys, the application workloads that pick no pool", async () => {
    const { report } = await audit(["--config", join(FIXTURES, "config-node-pools.yaml")]);
    const pools = report!.findings.filter((f) => f.rule === "workload-node-pool-missing");
    expect(pools.map((f) => [line(f), f.path, f.message])).toEqual([
      [
        "warn workload-node-pool-missing Deployment legacy/api",
        "spec.template.spec.nodeSelector",
        "Deployment api selects no node pool by node-pool",
      ],
      [
        "warn workload-node-pool-missing Deployment shop/web",
        "spec.template.spec.nodeSelector",
        "Deployment web selects no node pool by node-pool",
      ],
    ]);
  });

  // Last: it changes the cluster.
  test("with Velero, the Prometheus CRD and tollgate's webhook installed", async () => {
    await kubectl(["apply", "-f", "-"], readFileSync(join(FIXTURES, "installed.yaml"), "utf8"));
    await kubectl([
      "wait",
      "--for=condition=Established",
      "--timeout=60s",
      "crd/schedules.velero.io",
      "crd/prometheuses.monitoring.coreos.com",
      "crd/prometheusrules.monitoring.coreos.com",
      "crd/nodepools.karpenter.sh",
      "crd/certificates.cert-manager.io",
    ]);
    await cp.createNamespace("velero");
    await cp.createNamespace("monitoring");
    const ready = (status: string, reason: string, message: string) => ({
      conditions: [{ type: "Ready", status, reason, message }],
    });
    const custom = [
      {
        apiVersion: "velero.io/v1",
        kind: "Schedule",
        metadata: { name: "daily", namespace: "velero" },
        spec: { schedule: "0 3 * * *", template: { ttl: "720h" } },
      },
      // Defines five of the seven must-have alerts: by name, and one renamed (matched by its metric).
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PrometheusRule",
        metadata: { name: "cluster-alerts", namespace: "monitoring" },
        spec: {
          groups: [
            {
              name: "kubernetes",
              rules: [
                {
                  alert: "KubePodCrashLooping",
                  expr: 'kube_pod_container_status_waiting_reason{reason="CrashLoopBackOff"} >= 1',
                },
                { alert: "KubePodNotReady", expr: 'kube_pod_status_phase{phase=~"Pending|Unknown"} > 0' },
                {
                  alert: "KubeDeploymentReplicasMismatch",
                  expr: "kube_deployment_spec_replicas > kube_deployment_status_replicas_available",
                },
                {
                  alert: "NodeDown",
                  expr: 'kube_node_status_condition{condition="Ready",status="true"} == 0',
                },
                {
                  alert: "KubeQuotaExceeded",
                  expr: 'kube_resourcequota{type="used"} > kube_resourcequota{type="hard"}',
                },
              ],
            },
          ],
        },
      },
      {
        apiVersion: "karpenter.sh/v1",
        kind: "NodePool",
        metadata: { name: "general" },
        spec: {
          template: {
            spec: { nodeClassRef: { group: "karpenter.k8s.aws", kind: "EC2NodeClass", name: "default" } },
          },
        },
      },
      {
        apiVersion: "cert-manager.io/v1",
        kind: "Certificate",
        metadata: { name: "web", namespace: "shop" },
        spec: {
          secretName: "web-tls",
          dnsNames: ["web.shop.example"],
          issuerRef: { name: "ca", kind: "ClusterIssuer" },
        },
        status: ready("True", "Ready", "Certificate is up to date and has not expired"),
      },
      {
        apiVersion: "cert-manager.io/v1",
        kind: "Certificate",
        metadata: { name: "api", namespace: "legacy" },
        spec: {
          secretName: "api-tls",
          dnsNames: ["api.legacy.example"],
          issuerRef: { name: "ca", kind: "ClusterIssuer" },
        },
        status: ready("False", "DoesNotExist", "Issuing certificate as Secret does not exist"),
      },
    ];
    // Discovery of a new CRD can lag behind Established by a moment.
    for (const object of custom) {
      for (let attempt = 1; ; attempt++) {
        const r = await cp.kubectl(["create", "-f", "-"], { input: JSON.stringify(object) });
        if (r.code === 0) break;
        if (attempt === 20) throw new Error(`creating the ${object.kind} failed: ${r.stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
    const ca = await certificate("tollgate-e2e-webhook-ca", 5, true);
    await kubectl(
      ["create", "-f", "-"],
      JSON.stringify({
        apiVersion: "admissionregistration.k8s.io/v1",
        kind: "ValidatingWebhookConfiguration",
        metadata: { name: "tollgate" },
        webhooks: [
          {
            name: "enforce.tollgate.dev",
            // Intercepts a resource that does not exist: nothing is ever sent to the closed URL.
            rules: [
              {
                apiGroups: ["e2e.tollgate.dev"],
                apiVersions: ["v1"],
                resources: ["nothings"],
                operations: ["CREATE"],
              },
            ],
            clientConfig: {
              url: "https://127.0.0.1:1/validate/enforce",
              caBundle: Buffer.from(ca.cert).toString("base64"),
            },
            sideEffects: "None",
            admissionReviewVersions: ["v1"],
            failurePolicy: "Ignore",
          },
        ],
      }),
    );

    const { report } = await audit([]);
    const cluster = report!.findings.filter(
      (f) => f.kind === "Cluster" || f.kind === "ValidatingWebhookConfiguration" || f.kind === "Certificate",
    );
    expect(cluster.map((f) => [line(f), f.path, f.message])).toEqual([
      [
        "warn monitoring-missing Cluster /cluster",
        "",
        "no Prometheus operator found: no Prometheus resource exists and no prometheus-operator Deployment runs",
      ],
      [
        "warn alerts-missing Cluster /cluster",
        "",
        "no PrometheusRule alerts on etcd leader changes (etcdHighNumberOfLeaderChanges, or an expr on etcd_server_leader_changes_seen_total)",
      ],
      [
        "warn alerts-missing Cluster /cluster",
        "",
        "no PrometheusRule alerts on CPU throttling (CPUThrottlingHigh, or an expr on container_cpu_cfs_throttled_periods_total)",
      ],
      [
        "warn certificate-not-ready Certificate legacy/api",
        "status.conditions[type=Ready]",
        "Certificate legacy/api is not Ready: DoesNotExist: Issuing certificate as Secret does not exist",
      ],
      [
        "warn tollgate-webhook-cert-expiring ValidatingWebhookConfiguration /tollgate",
        "webhooks[0].clientConfig.caBundle",
        `the CA of webhook enforce.tollgate.dev expires on ${ca.notAfter.toISOString().slice(0, 10)}, in 5 days`,
      ],
    ]);
    expect(report!.notes).toEqual([]);
    expect(report!.errors).toEqual([]);
  });
  // After the last: it adds a CRD, a namespace and a Rollout.
  test("with podTemplates: Argo Rollouts listed at the served version and judged as check judges them", async () => {
    const config = join(cp.dir, "rollouts.yaml");
    writeFileSync(config, "podTemplates:\n  - { group: argoproj.io, kind: Rollout, path: spec.template }\n");
    const rollouts = (report: JsonReport | undefined) =>
      (report?.findings ?? []).filter((f) => f.kind === "Rollout");

    // No CRD yet: a note, as for Velero's, and no error.
    const before = await audit(["--config", config]);
    expect(before.report!.notes).toContain("argoproj.io Rollout is not served (its CRD is not installed)");
    expect(before.report!.errors).toEqual([]);

    await kubectl(["apply", "-f", "-"], ROLLOUT_CRD);
    await kubectl(["wait", "--for=condition=Established", "--timeout=60s", "crd/rollouts.argoproj.io"]);
    await cp.createNamespace("rollouts");
    const manifest = {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Rollout",
      metadata: { name: "checkout", namespace: "rollouts" },
      spec: {
        replicas: 2,
        strategy: { canary: { steps: [{ setWeight: 20 }] } },
        selector: { matchLabels: { app: "checkout" } },
        template: {
          metadata: { labels: { app: "checkout" } },
          spec: { containers: [{ name: "web", image: "registry.example/web:1.0" }] },
        },
      },
    };
    // Discovery of a new CRD can lag behind Established by a moment.
    const create = async (): Promise<string> => {
      for (let attempt = 1; ; attempt++) {
        const r = await cp.kubectl(["create", "-o", "jsonpath={.metadata.uid}", "-f", "-"], {
          input: JSON.stringify(manifest),
        });
        if (r.code === 0) return r.stdout;
        if (attempt === 20) throw new Error(`creating the Rollout failed: ${r.stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    };
    const uid = await create();
    // The ReplicaSet Argo's controller would make: owned by the Rollout, not judged again.
    await kubectl(
      ["create", "-f", "-"],
      JSON.stringify({
        apiVersion: "apps/v1",
        kind: "ReplicaSet",
        metadata: {
          name: "checkout-6d4f",
          namespace: "rollouts",
          ownerReferences: [
            { apiVersion: "argoproj.io/v1alpha1", kind: "Rollout", name: "checkout", uid, controller: true },
          ],
        },
        spec: { replicas: 0, selector: manifest.spec.selector, template: manifest.spec.template },
      }),
    );

    const { code, report } = await audit(["--config", config]);
    expect(code).toBe(1);
    expect(report!.errors).toEqual([]);
    expect(report!.notes.filter((n) => n.includes("argoproj.io"))).toEqual([]);
    expect(rollouts(report).map((f) => `${line(f)} ${f.path}`)).toEqual([
      "deny container-requests-missing Rollout rollouts/checkout spec.template.spec.containers[name=web].resources.requests",
      "deny container-limits-missing Rollout rollouts/checkout spec.template.spec.containers[name=web].resources.limits",
      "deny run-as-root Rollout rollouts/checkout spec.template.spec.containers[name=web].securityContext.runAsNonRoot",
      "deny privilege-escalation-allowed Rollout rollouts/checkout spec.template.spec.containers[name=web].securityContext.allowPrivilegeEscalation",
      "warn capabilities-not-dropped Rollout rollouts/checkout spec.template.spec.containers[name=web].securityContext.capabilities.drop",
      "warn seccomp-profile-missing Rollout rollouts/checkout spec.template.spec.containers[name=web].securityContext.seccompProfile.type",
      "warn writable-root-filesystem Rollout rollouts/checkout spec.template.spec.containers[name=web].securityContext.readOnlyRootFilesystem",
      "warn default-service-account Rollout rollouts/checkout spec.template.spec.serviceAccountName",
      "warn service-account-token-automounted Rollout rollouts/checkout spec.template.spec.automountServiceAccountToken",
      "warn liveness-probe-missing Rollout rollouts/checkout spec.template.spec.containers[name=web].livenessProbe",
      "warn readiness-probe-missing Rollout rollouts/checkout spec.template.spec.containers[name=web].readinessProbe",
      "warn workload-pdb-missing Rollout rollouts/checkout spec.replicas",
    ]);
    expect(report!.findings.filter((f) => f.name === "checkout-6d4f")).toEqual([]);

    // The same object as `tollgate check` reads it from the cluster's own YAML.
    const yaml = (await kubectl(["get", "rollout.argoproj.io", "checkout", "-n", "rollouts", "-o", "yaml"]))
      .stdout;
    const file = join(cp.dir, "rollout-checkout.yaml");
    writeFileSync(file, yaml);
    const checked = captureIO();
    await runCheck(["--config", config, "--output", "json", file], checked.io);
    const fromCheck = (JSON.parse(checked.stdout()) as JsonReport).findings.map(
      (f) => `${line(f)} ${f.path} ${f.message}`,
    );
    expect(
      rollouts(report)
        .filter((f) => f.rule !== "workload-pdb-missing")
        .map((f) => `${line(f)} ${f.path} ${f.message}`),
    ).toEqual(fromCheck);

    // One namespace: listed there.
    const one = await audit(["--config", config, "--namespace", "rollouts"]);
    expect(rollouts(one.report).map((f) => f.rule)).toEqual(rollouts(report).map((f) => f.rule));

    // `edit` does not grant Rollouts (the CRD aggregates nothing): the missing-permission error.
    const user = await audit(["--config", config], cp.userKubeconfig);
    expect(user.code).toBe(2);
    expect(user.report!.errors.map((e) => e.message)).toContain(
      "missing permission: list rollouts (argoproj.io) — grant it or run with --namespace",
    );
    expect(rollouts(user.report)).toEqual([]);
  });
});
