/**
 * Issue 16: the continuous audit of `tollgate serve` against a real kube-apiserver. tollgate runs
 * as the built CLI (`serve --bootstrap`) from outside the cluster through a kubeconfig, watches
 * what runs, and writes PolicyReports (wgpolicyk8s.io/v1alpha2, the CRDs tollgate ships) that the
 * test reads back with the real kubectl; two processes elect one writer on a Lease.
 */
import { randomBytes } from "node:crypto";
import { copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dump } from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runAudit } from "../../src/cli/audit.js";
import { policyReportCrds } from "../../src/k8s/policyReportCrds.js";
import { captureIO } from "../cli/helpers.js";
import { judgeListed } from "../../src/audit/report.js";
import { DEFAULT_CONFIG } from "../../src/config/load.js";
import { compilePolicy } from "../../src/engine/policy.js";
import type { KindName } from "../../src/objects/kinds.js";
import type { KubeObject } from "../../src/objects/object.js";
import { type ControlPlane, startControlPlane } from "./controlplane.js";
import { compliantPod, ROLLOUT_CRD, rootPod } from "./manifests.js";
import { startTollgate, type Tollgate, sumOfMetric } from "./tollgate.js";

const BUILD_AND_START_TIMEOUT_MS = 45 * 60 * 1000;
const DAY_MS = 86_400_000;
const suffix = randomBytes(3).toString("hex");
const ns = (name: string) => `${name}-${suffix}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface PolicyReport {
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  summary: { pass: number; fail: number; warn: number; error: number; skip: number };
  results?: {
    policy: string;
    result: string;
    severity: string;
    message: string;
    resources: { kind: string; name: string; namespace?: string }[];
    properties: Record<string, string>;
  }[];
}

/** The four rules a rootPod breaks in enforce mode. */
const ROOT_POD_DENIES = [
  "container-limits-missing",
  "container-requests-missing",
  "privilege-escalation-allowed",
  "run-as-root",
];

/** tollgate's config here: a 10-minute resync, and Argo Rollouts' pod templates judged as Deployments'. */
const CONFIG =
  "audit:\n  resync: 10m\npodTemplates:\n  - { group: argoproj.io, kind: Rollout, path: spec.template }\n";

/** A Rollout of 2 replicas whose one container sets nothing. */
const badRollout = (name: string) => `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: ${name}
spec:
  replicas: 2
  strategy: { canary: { steps: [{ setWeight: 20 }] } }
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
      containers:
        - { name: web, image: registry.example/web:1.0 }
`;

/** What the report says of a bad Rollout: its deny findings fail, its warnings warn. */
const rolloutResults = (name: string) =>
  [
    ...ROOT_POD_DENIES.map((rule) => `fail ${rule} Rollout/${name}`),
    ...[
      "capabilities-not-dropped",
      "default-service-account",
      "liveness-probe-missing",
      "readiness-probe-missing",
      "seccomp-profile-missing",
      "service-account-token-automounted",
      "workload-pdb-missing",
      "writable-root-filesystem",
    ].map((rule) => `warn ${rule} Rollout/${name}`),
  ].sort();

const day = (offset: number) => new Date(Date.now() + offset * DAY_MS).toISOString().slice(0, 10);

function exemptPod(name: string, until: string): string {
  return rootPod(name).replace(
    `  name: ${name}\n`,
    `  name: ${name}\n  annotations:\n    tollgate.dev/exempt: run-as-root\n    tollgate.dev/exempt-reason: vendor image, ticket OPS-7\n    tollgate.dev/exempt-until: "${until}"\n`,
  );
}

describe("the continuous audit against a real kube-apiserver", () => {
  let cp: ControlPlane;
  let first: Tollgate | undefined;
  let second: Tollgate | undefined;
  const shop = ns("shop");
  const pay = ns("pay");
  const clean = ns("clean");
  const roll = ns("roll");

  async function kubectl(args: string[], input?: string) {
    const r = await cp.kubectl(args, input === undefined ? {} : { input });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} failed (${r.code}): ${r.stderr}`);
    return r;
  }

  async function report(namespace: string): Promise<PolicyReport | undefined> {
    const r = await cp.kubectl([
      "get",
      "policyreports.wgpolicyk8s.io",
      "tollgate",
      "-n",
      namespace,
      "-o",
      "json",
    ]);
    return r.code === 0 ? (JSON.parse(r.stdout) as PolicyReport) : undefined;
  }

  /** Polls `probe` until it returns a value (not undefined), at most `timeoutMs`. */
  async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`${what}: not seen within ${timeoutMs} ms`);
      await sleep(200);
    }
  }

  /** `result rule Kind/name` of a report's results on Pods, sorted. */
  const podResults = (r: PolicyReport) =>
    (r.results ?? [])
      .filter((x) => x.resources[0]?.kind === "Pod")
      .map((x) => `${x.result} ${x.policy} Pod/${x.resources[0]!.name}`)
      .sort();

  beforeAll(async () => {
    cp = await startControlPlane();
    await kubectl(
      ["apply", "-f", "-"],
      policyReportCrds()
        .map((crd) => `---\n${dump(crd)}`)
        .join(""),
    );
    await kubectl([
      "wait",
      "--for=condition=Established",
      "crd/policyreports.wgpolicyk8s.io",
      "--timeout=30s",
    ]);
    await kubectl(["apply", "-f", "-"], ROLLOUT_CRD);
    await kubectl(["wait", "--for=condition=Established", "crd/rollouts.argoproj.io", "--timeout=30s"]);
    for (const name of ["tollgate", shop, pay, clean, roll]) await cp.createNamespace(name);
    // Seeded before tollgate starts, as what already runs on the day it is installed.
    await kubectl(
      ["apply", "-n", shop, "-f", "-"],
      `${rootPod("legacy-a")}---\n${rootPod("legacy-b")}---\n${compliantPod("good")}`,
    );
    await kubectl(
      ["apply", "-n", pay, "-f", "-"],
      `${rootPod("vendor")}---\n${exemptPod("exempt-soon", day(7))}---\n${exemptPod("exempt-gone", day(-3))}`,
    );
    await kubectl(["apply", "-n", clean, "-f", "-"], compliantPod("good"));
    // Discovery of the new CRD can lag behind Established by a moment.
    for (let attempt = 1; ; attempt++) {
      const r = await cp.kubectl(["apply", "-n", roll, "-f", "-"], { input: badRollout("checkout") });
      if (r.code === 0) break;
      if (attempt === 20) throw new Error(`creating the Rollout failed: ${r.stderr}`);
      await sleep(500);
    }
    await kubectl(["label", "namespace", shop, pay, clean, roll, "tollgate.dev/mode=warn"]);
    first = await startTollgate(cp, { config: CONFIG });
  }, BUILD_AND_START_TIMEOUT_MS);

  afterAll(async () => {
    await second?.stop();
    await first?.stop();
    // To read what the replicas logged after a failure: TOLLGATE_E2E_KEEP_LOG=FILE.
    const keep = process.env.TOLLGATE_E2E_KEEP_LOG;
    if (keep && (first ?? second)) copyFileSync((first ?? second)!.logFile, keep);
    await cp?.stop();
  });

  it("writes one report per namespace with exact counts; exempted findings are skip with reason and expiry", async () => {
    const shopReport = await until("the shop report", () => report(shop), 30_000);
    expect(podResults(shopReport).filter((line) => line.startsWith("fail"))).toEqual(
      ["legacy-a", "legacy-b"]
        .flatMap((pod) => ROOT_POD_DENIES.map((rule) => `fail ${rule} Pod/${pod}`))
        .sort(),
    );
    // Counted exactly: the summary is the results (nothing was cut at 500), pass counted, not listed.
    const results = shopReport.results ?? [];
    expect(shopReport.summary.fail).toBe(results.filter((r) => r.result === "fail").length);
    expect(shopReport.summary.warn).toBe(results.filter((r) => r.result === "warn").length);
    expect(results.some((r) => r.result === "pass")).toBe(false);
    // The same engine path as `tollgate audit`: its report of the namespace gives the same counts,
    // pass being each rule that looked at an object and found nothing there.
    const captured = captureIO();
    await runAudit(
      ["--kubeconfig", cp.adminKubeconfig, "--namespace", shop, "--output", "json"],
      captured.io,
    );
    const offline = JSON.parse(captured.stdout()) as {
      findings: { severity: string }[];
      exempted: unknown[];
    };
    // pass: each rule that judged an object of the namespace, as read from the apiserver now, and
    // found nothing on it.
    const listed = JSON.parse(
      (await kubectl(["get", "pods,serviceaccounts", "-n", shop, "-o", "json"])).stdout,
    ) as { items: KubeObject[] };
    const policy = compilePolicy(DEFAULT_CONFIG);
    const namespaces = new Map([
      [shop, JSON.parse((await kubectl(["get", "namespace", shop, "-o", "json"])).stdout)],
    ]);
    let pass = 0;
    for (const item of listed.items) {
      const { object } = judgeListed(item.kind as KindName, item, policy, namespaces);
      const found = new Set([...object.findings, ...(object.exempted ?? [])].map((f) => f.rule));
      pass += object.rules.filter((rule) => !found.has(rule)).length;
    }
    expect(pass).toBeGreaterThan(0);
    expect(shopReport.summary).toEqual({
      pass,
      fail: offline.findings.filter((f) => f.severity === "deny").length,
      warn: offline.findings.filter((f) => f.severity === "warn").length,
      error: 0,
      skip: offline.exempted.length,
    });

    const payReport = await until("the pay report", () => report(pay), 10_000);
    const skip = (payReport.results ?? []).filter((r) => r.result === "skip");
    expect(
      skip.map((r) => [
        r.policy,
        r.resources[0]!.name,
        r.properties["exemption.reason"],
        r.properties["exemption.until"],
      ]),
    ).toEqual([["run-as-root", "exempt-soon", "vendor image, ticket OPS-7", day(7)]]);
    expect(payReport.summary.skip).toBe(1);
    // The expired exemption exempts nothing and says so on the object's results.
    const gone = (payReport.results ?? []).filter((r) => r.resources[0]!.name === "exempt-gone");
    expect(
      gone
        .filter((r) => r.result === "fail")
        .map((r) => r.policy)
        .sort(),
    ).toEqual(ROOT_POD_DENIES);
    expect(gone.find((r) => r.policy === "run-as-root")?.properties.exemption).toBe(
      `exemption ignored: tollgate.dev/exempt-until ${day(-3)} has passed`,
    );
    const cleanReport = await until("the clean report", () => report(clean), 10_000);
    expect(podResults(cleanReport).filter((line) => line.startsWith("fail"))).toEqual([]);

    // Readiness to enforce, per namespace, in the gauges.
    const metrics = await first!.metrics();
    expect(metrics).toContain(`tollgate_namespace_enforce_ready{namespace="${shop}"} 0`);
    expect(metrics).toContain(`tollgate_namespace_enforce_ready{namespace="${clean}"} 1`);
    expect(metrics).toContain(
      `tollgate_audit_findings{namespace="${shop}",rule="run-as-root",severity="deny"} 2`,
    );
    expect(metrics).toContain(`tollgate_exemptions{namespace="${pay}",rule="run-as-root"} 1`);
    expect(metrics).toMatch(
      new RegExp(
        `tollgate_exemption_expiry_timestamp_seconds\\{namespace="${pay}",rule="run-as-root"\\} ${Date.parse(`${day(8)}T00:00:00Z`) / 1000}`,
      ),
    );
  });

  it("watches the configured Rollouts: judged as audit judges them, in the namespace's report, followed within 5 s", async () => {
    const rolloutLines = (r: PolicyReport) =>
      (r.results ?? [])
        .filter((x) => x.resources[0]?.kind === "Rollout")
        .map((x) => `${x.result} ${x.policy} Rollout/${x.resources[0]!.name}`)
        .sort();
    const initial = await until(
      "the Rollout in its report",
      async () => {
        const r = await report(roll);
        return r && rolloutLines(r).length > 0 ? r : undefined;
      },
      30_000,
    );
    expect(rolloutLines(initial)).toEqual(rolloutResults("checkout"));
    expect(initial.results!.find((x) => x.resources[0]?.kind === "Rollout")!.resources[0]).toMatchObject({
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Rollout",
      name: "checkout",
      namespace: roll,
    });
    // The same counts as `tollgate audit --namespace` with the same config.
    const captured = captureIO();
    const config = join(cp.dir, "rollouts-audit.yaml");
    writeFileSync(config, CONFIG);
    await runAudit(
      ["--kubeconfig", cp.adminKubeconfig, "--namespace", roll, "--config", config, "--output", "json"],
      captured.io,
    );
    const offline = JSON.parse(captured.stdout()) as { findings: { severity: string; kind: string }[] };
    expect(offline.findings.filter((f) => f.kind === "Rollout")).toHaveLength(
      rolloutResults("checkout").length,
    );
    expect(initial.summary.fail).toBe(offline.findings.filter((f) => f.severity === "deny").length);
    expect(initial.summary.warn).toBe(offline.findings.filter((f) => f.severity === "warn").length);

    // A new Rollout (warn mode admits it) arrives through the watch; a deleted one leaves.
    await kubectl(["apply", "-n", roll, "-f", "-"], badRollout("canary"));
    await until(
      "the new Rollout reported",
      async () => {
        const r = await report(roll);
        return r && rolloutLines(r).includes("fail run-as-root Rollout/canary") ? true : undefined;
      },
      5_000,
    );
    await kubectl(["delete", "rollout.argoproj.io", "checkout", "-n", roll]);
    const after = await until(
      "the deleted Rollout gone",
      async () => {
        const r = await report(roll);
        return r && !rolloutLines(r).some((line) => line.endsWith("Rollout/checkout")) ? r : undefined;
      },
      5_000,
    );
    expect(rolloutLines(after)).toEqual(rolloutResults("canary"));
  });

  it("follows changes: a fixed workload's results go within 5 s, a deleted one's too", async () => {
    // legacy-a is replaced by a compliant Pod of the same name (Pods cannot be changed in place).
    await kubectl(["delete", "pod", "legacy-a", "-n", shop, "--wait=false"]);
    const started = Date.now();
    const without = await until(
      "legacy-a gone from the report",
      async () => {
        const r = await report(shop);
        return r && !podResults(r).some((line) => line.endsWith("Pod/legacy-a")) ? r : undefined;
      },
      5_000,
    );
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(podResults(without).filter((line) => line.startsWith("fail"))).toEqual(
      ROOT_POD_DENIES.map((rule) => `fail ${rule} Pod/legacy-b`).sort(),
    );
    // A new violation arrives (in warn mode the apply is allowed) and is in the report within 5 s.
    await kubectl(["apply", "-n", clean, "-f", "-"], rootPod("newcomer"));
    const dirty = await until(
      "newcomer in the clean report",
      async () => {
        const r = await report(clean);
        return r && podResults(r).some((line) => line === "fail run-as-root Pod/newcomer") ? r : undefined;
      },
      5_000,
    );
    expect(dirty.summary.fail).toBeGreaterThanOrEqual(4);
  });

  it("warns a policy admin who flips a namespace to enforce, naming what enforce would deny", async () => {
    const r = await cp.kubectl(["label", "namespace", shop, "tollgate.dev/mode=enforce", "--overwrite"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`Warning: tollgate: enforce would deny 1 object that runs in ${shop} now:`);
    expect(r.stderr).toContain(
      "Warning: tollgate: - Pod legacy-b (container-requests-missing, container-limits-missing, run-as-root, …)",
    );
    // Back to warn and on to enforce in a clean namespace: no preview warning there.
    await kubectl(["label", "namespace", shop, "tollgate.dev/mode=warn", "--overwrite"]);
    await kubectl(["delete", "pod", "newcomer", "-n", clean]);
    await sleep(1_500);
    const cleanFlip = await cp.kubectl([
      "label",
      "namespace",
      clean,
      "tollgate.dev/mode=enforce",
      "--overwrite",
    ]);
    expect(cleanFlip.code).toBe(0);
    expect(cleanFlip.stderr).not.toContain("enforce would deny");
  });

  it("warns about an exemption that ends within 14 days when the object is written", async () => {
    // A changed object (a new label), or kubectl sends nothing for an unchanged one.
    const changed = exemptPod("exempt-soon", day(7)).replace(
      "metadata:\n",
      'metadata:\n  labels: { touched: "yes" }\n',
    );
    const r = await cp.kubectl(["apply", "-n", pay, "-f", "-", "--dry-run=server"], { input: changed });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      new RegExp(
        `Warning: exemption ends in 7 days: run-as-root exempted until ${day(7)}; fix the object or renew it`,
      ),
    );
  });

  // clean is in enforce mode by now: the second wave goes to pay, in warn mode.
  it("two replicas: one writes; when it dies, the other takes over within the lease duration", async () => {
    second = await startTollgate(cp, { config: CONFIG });
    await sleep(3_000);
    const [a, b] = [await first!.metrics(), await second.metrics()];
    expect(sumOfMetric(a, "tollgate_audit_leader")).toBe(1);
    expect(sumOfMetric(b, "tollgate_audit_leader")).toBe(0);
    // A change: only the leader writes it.
    await kubectl(["apply", "-n", pay, "-f", "-"], rootPod("second-wave"));
    await until(
      "second-wave reported",
      async () => {
        const r = await report(pay);
        return r && podResults(r).includes("fail run-as-root Pod/second-wave") ? true : undefined;
      },
      5_000,
    );
    expect(sumOfMetric(await second.metrics(), "tollgate_audit_report_writes_total")).toBe(0);
    expect(sumOfMetric(await first!.metrics(), "tollgate_audit_report_writes_total")).toBeGreaterThan(0);

    // The leader dies without releasing the Lease; the other holds it within the 15 s lease duration.
    process.kill(first!.pid, "SIGKILL");
    await first!.stop();
    first = undefined;
    const killed = Date.now();
    await until(
      "the second replica leading",
      async () => {
        return sumOfMetric(await second!.metrics(), "tollgate_audit_leader") === 1 ? true : undefined;
      },
      20_000,
    );
    // The follower counts the 15 s from when it last saw the record change (up to one 2 s retry after
    // the leader's last renewal, as client-go does, so skewed clocks cannot matter) and looks every 2 s.
    expect(Date.now() - killed).toBeLessThan(15_000 + 2 * 2_000 + 1_000);
    await kubectl(["delete", "pod", "second-wave", "-n", pay]);
    await until(
      "second-wave gone, written by the new leader",
      async () => {
        const r = await report(pay);
        return r && !podResults(r).some((line) => line.endsWith("Pod/second-wave")) ? true : undefined;
      },
      5_000,
    );
    expect(sumOfMetric(await second.metrics(), "tollgate_audit_report_writes_total")).toBeGreaterThan(0);
  });
});
