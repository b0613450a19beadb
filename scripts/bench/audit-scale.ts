// The continuous audit at scale (issue 16), against the e2e kube-apiserver on 127.0.0.1:
// 100 namespaces, 5,000 Pods and 1,000 Deployments created before tollgate starts, then the time
// from `tollgate serve --bootstrap` to a complete set of reports (one per namespace, each with its
// exact fail count), tollgate's peak RSS (VmHWM), and the size of the report objects.
//
//   npm run build && node --import ./test/reliability/ts-register.mjs scripts/bench/audit-scale.ts
//
// Bounded: it creates a fixed number of objects, waits at most 5 minutes, and stops what it started.
import { readFileSync } from "node:fs";
import { dump } from "js-yaml";
import { policyReportCrds } from "../../src/k8s/policyReportCrds.js";
import { startControlPlane } from "../../test/e2e/controlplane.js";
import { startTollgate } from "../../test/e2e/tollgate.js";

const NAMESPACES = Number(process.env.NAMESPACES ?? 100);
const PODS = Number(process.env.PODS ?? 5_000);
const DEPLOYMENTS = Number(process.env.DEPLOYMENTS ?? 1_000);
const TIMEOUT_MS = 5 * 60_000;

/** Every other Pod runs as root without limits (4 deny findings); the rest are compliant. */
function pod(name: string, root: boolean) {
  const secure = {
    resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "10m", memory: "16Mi" } },
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    },
    livenessProbe: { tcpSocket: { port: 80 } },
    readinessProbe: { tcpSocket: { port: 80 } },
  };
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, labels: { app: name } },
    spec: {
      automountServiceAccountToken: false,
      securityContext: root ? {} : { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
      containers: [{ name: "web", image: "registry.example/web:1.0", ...(root ? {} : secure) }],
    },
  };
}

function deployment(name: string) {
  const { spec } = pod(name, false);
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec },
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const cp = await startControlPlane();
try {
  await cp.kubectl(["apply", "-f", "-"], {
    input: policyReportCrds()
      .map((crd) => `---\n${dump(crd)}`)
      .join(""),
  });
  await cp.createNamespace("tollgate");
  const names = Array.from({ length: NAMESPACES }, (_, i) => `team-${String(i).padStart(3, "0")}`);
  const created = Date.now();
  const expectedFail = new Map<string, number>();
  for (const [i, namespace] of names.entries()) {
    await cp.createNamespace(namespace);
    const items: unknown[] = [];
    let roots = 0;
    for (let p = i; p < PODS; p += NAMESPACES) {
      const root = p % 2 === 0;
      if (root) roots++;
      items.push(pod(`pod-${p}`, root));
    }
    for (let d = i; d < DEPLOYMENTS; d += NAMESPACES) items.push(deployment(`deploy-${d}`));
    expectedFail.set(namespace, roots * 4);
    const r = await cp.kubectl(["apply", "-n", namespace, "--server-side", "-f", "-"], {
      input: JSON.stringify({ apiVersion: "v1", kind: "List", items }),
    });
    if (r.code !== 0) throw new Error(`creating objects in ${namespace}: ${r.stderr}`);
  }
  console.log(
    `created ${NAMESPACES} namespaces, ${PODS} Pods, ${DEPLOYMENTS} Deployments in ${((Date.now() - created) / 1000).toFixed(0)} s`,
  );

  const started = Date.now();
  const tollgate = await startTollgate(cp, { config: "audit:\n  resync: 10m\n", readyTimeoutMs: 120_000 });
  let complete: number | undefined;
  let reports: { metadata: { namespace: string }; summary: { fail: number } }[] = [];
  let listed = "";
  while (Date.now() - started < TIMEOUT_MS) {
    const r = await cp.kubectl(["get", "policyreports.wgpolicyk8s.io", "-A", "-o", "json"]);
    if (r.code === 0) {
      listed = r.stdout;
      reports = (JSON.parse(r.stdout) as { items: typeof reports }).items;
      const done = names.every((ns) =>
        reports.some(
          (report) => report.metadata.namespace === ns && report.summary.fail >= expectedFail.get(ns)!,
        ),
      );
      if (done) {
        complete = Date.now() - started;
        break;
      }
    }
    await sleep(500);
  }
  const status = readFileSync(`/proc/${tollgate.pid}/status`, "utf8");
  const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
  const sizes = (JSON.parse(listed || '{"items":[]}') as { items: unknown[] }).items.map((item) =>
    Buffer.byteLength(JSON.stringify(item)),
  );
  const writes = /tollgate_audit_report_writes_total\{result="written"\} (\d+)/.exec(
    await tollgate.metrics(),
  )?.[1];
  await tollgate.stop();
  console.log(
    JSON.stringify(
      {
        namespaces: NAMESPACES,
        pods: PODS,
        deployments: DEPLOYMENTS,
        firstCompleteReportSetSeconds: complete === undefined ? null : complete / 1000,
        peakRssMiB: Math.round(hwm),
        reports: sizes.length,
        largestReportKiB: Math.round(Math.max(0, ...sizes) / 1024),
        totalReportsKiB: Math.round(sizes.reduce((a, b) => a + b, 0) / 1024),
        reportWrites: Number(writes ?? 0),
      },
      null,
      2,
    ),
  );
  if (complete === undefined) process.exitCode = 1;
} finally {
  await cp.stop();
}
