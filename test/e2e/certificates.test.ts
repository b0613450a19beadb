/**
 * Issue 6, scenario 8: the bootstrapper against a real kube-apiserver, and a CA rotation under load.
 *
 * tollgate runs in this process here (buildApp + clusterCertificateManager, wired as `serve
 * --bootstrap` wires them) so that the test can drive the manager's clock through the three phases
 * of a CA rotation, which last a day each in production. The clock starts two phases in the past
 * and reaches the present at the last phase, so every certificate is valid in real time for the
 * apiserver. Meanwhile a loop of `kubectl apply --dry-run=server` runs, and every call must get
 * tollgate's verdict: never "failed calling webhook", never an x509 error.
 */
import { X509Certificate } from "node:crypto";
import { join } from "node:path";
import { connect, type Server as TlsServer } from "node:tls";
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.js";
import { DEFAULT_CONFIG } from "../../src/config/load.js";
import { compilePolicy } from "../../src/engine/policy.js";
import { clusterCertificateManager } from "../../src/k8s/certificates.js";
import { loadKubeConfig } from "../../src/k8s/client.js";
import { type ClusterFactsHandle, startClusterFacts } from "../../src/k8s/facts.js";
import { createMetrics } from "../../src/metrics.js";
import { CertificateManager } from "../../src/tls/manager.js";
import { swapCertificate } from "../../src/tls/reload.js";
import { bundleCertificates, DEFAULT_ROTATION } from "../../src/tls/rotation.js";
import { type ControlPlane, freePorts, type KubectlResult, startControlPlane } from "./controlplane.js";
import { compliantPod, rootPod, rootPodDenialStderr } from "./manifests.js";
import { TOLLGATE_NAMESPACE, WEBHOOK_CONFIGURATION } from "./tollgate.js";

const BUILD_AND_START_TIMEOUT_MS = 45 * 60 * 1000;
const NAMESPACE = "rotation";
/** Dry-run applies in the loop; rotation steps happen after calls 5, 12 and 19. */
const CALLS = 30;
const STEP_AFTER = [5, 12, 19] as const;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

let cp: ControlPlane;
let app: FastifyInstance | undefined;
let manager: CertificateManager | undefined;
let facts: ClusterFactsHandle | undefined;
let port: number;

/** Set by the test: the manager's clock. */
let now: Date;

interface Fingerprints {
  /** Subject CN of each CA in the caBundle the apiserver holds, in order. */
  bundle: string[];
}

async function publishedBundle(): Promise<Fingerprints> {
  const res = await cp.request(
    "GET",
    `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${WEBHOOK_CONFIGURATION}`,
  );
  expect(res.status).toBe(200);
  const configuration = JSON.parse(res.body) as { webhooks: { clientConfig: { caBundle?: string } }[] };
  const bundles = new Set(configuration.webhooks.map((w) => w.clientConfig.caBundle ?? ""));
  // Every entry carries the same bundle.
  expect(bundles.size).toBe(1);
  const [encoded] = [...bundles];
  const pem = Buffer.from(encoded ?? "", "base64").toString("utf8");
  return { bundle: bundleCertificates(pem).map((c) => c.subject) };
}

const subjectOf = (pem: string): string => new X509Certificate(pem).subject;

/** The certificate tollgate presents to a new TLS connection right now. */
function servedCertificate(): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
      const raw = socket.getPeerCertificate().raw;
      socket.end();
      resolve(new X509Certificate(raw));
    });
    socket.on("error", reject);
  });
}

function dryRun(manifest: string): Promise<KubectlResult> {
  return cp.kubectl(["apply", "-n", NAMESPACE, "--dry-run=server", "-f", "-"], {
    user: true,
    input: manifest,
  });
}

describe("certificate bootstrap and CA rotation against a real kube-apiserver", () => {
  beforeAll(async () => {
    cp = await startControlPlane();
    await cp.createNamespace(TOLLGATE_NAMESPACE);
    await cp.createNamespace(NAMESPACE, { "tollgate.dev/mode": "enforce" });
    [port] = (await freePorts(1)) as [number];
  }, BUILD_AND_START_TIMEOUT_MS);

  afterAll(async () => {
    manager?.stop();
    await facts?.stop();
    await app?.close();
    await cp?.stop();
  });

  it("8. bootstraps through client-node, then rotates the CA while kubectl keeps calling: no call fails", async () => {
    const config = DEFAULT_CONFIG;
    const kubeConfig = loadKubeConfig({ kubeconfig: cp.adminKubeconfig });
    const logger = pino(
      { level: "info" },
      pino.destination({ dest: join(cp.dir, "tollgate.log"), sync: true }),
    );
    const { phaseMs } = DEFAULT_ROTATION;
    now = new Date(Date.now() - 2 * phaseMs - 10 * 60 * 1000);
    manager = clusterCertificateManager({
      config,
      kubeConfig,
      url: `https://127.0.0.1:${port}`,
      // As `serve` registers: fail-closed, so a call that does not reach tollgate fails the loop.
      failurePolicy: config.webhook.failurePolicy,
      logger,
      clock: () => now,
    });

    // Bootstrap: the Secret and the configuration are created, the caBundle holds the one CA.
    const created = await manager.reconcile();
    expect(created.steps.map((s) => s.action)).toEqual(["create"]);
    expect(created.published).toBe(true);
    const firstCa = manager.stored!.ca.cert;
    expect(await publishedBundle()).toEqual({ bundle: [subjectOf(firstCa)] });
    const secret = await cp.request("GET", `/api/v1/namespaces/${TOLLGATE_NAMESPACE}/secrets/tollgate-certs`);
    expect(secret.status).toBe(200);

    facts = await startClusterFacts(kubeConfig, logger);
    const running = facts;
    const tlsManager = manager;
    app = buildApp({
      https: manager.current,
      policy: () => compilePolicy(config),
      metrics: createMetrics(),
      logger,
      readiness: () => tlsManager.readiness(),
      facts: () => running.facts,
    });
    const server = app.server as unknown as TlsServer;
    manager.onChange((pair) => swapCertificate(server, pair));
    await app.listen({ port, host: "127.0.0.1" });

    // The apiserver reads the new configuration through an informer: wait until it calls tollgate.
    const deadline = Date.now() + 15_000;
    while (!(await dryRun(rootPod("probe"))).stderr.includes("denied the request: tollgate:")) {
      if (Date.now() > deadline) throw new Error("the webhook configuration did not come into force");
      await sleep(250);
    }
    expect((await servedCertificate()).fingerprint256).toBe(
      new X509Certificate(manager.current.cert).fingerprint256,
    );
    expect((await servedCertificate()).checkIssued(new X509Certificate(firstCa))).toBe(true);

    // The loop: alternately a denied and an admitted Pod; every answer must be tollgate's.
    let done = 0;
    const failures: { call: number; code: number; stderr: string }[] = [];
    const loop = (async () => {
      for (let call = 1; call <= CALLS; call++) {
        const bad = call % 2 === 1;
        const r = await dryRun(bad ? rootPod("web") : compliantPod("web"));
        const ok = bad
          ? r.code === 1 && r.stdout === "" && r.stderr === rootPodDenialStderr(NAMESPACE, "web")
          : r.code === 0 && r.stdout === "pod/web created (server dry run)\n";
        if (!ok) failures.push({ call, code: r.code, stderr: r.stderr });
        done = call;
      }
    })();
    const after = async (calls: number): Promise<void> => {
      while (done < calls) await sleep(50);
    };

    // Phase 1: a new CA is published beside the old one; the old one still signs the leaf.
    await after(STEP_AFTER[0]);
    const started = await manager.reconcile("ca");
    expect(started.steps.map((s) => s.action)).toEqual(["start-ca-rotation"]);
    const nextCa = manager.stored!.nextCa!.cert;
    expect(await publishedBundle()).toEqual({ bundle: [subjectOf(firstCa), subjectOf(nextCa)] });
    expect((await servedCertificate()).checkIssued(new X509Certificate(firstCa))).toBe(true);

    // Phase 2, a day later: the new CA signs a new leaf, served without a restart; the old CA stays trusted.
    await after(STEP_AFTER[1]);
    now = new Date(now.getTime() + phaseMs);
    const switched = await manager.reconcile();
    expect(switched.steps.map((s) => s.action)).toEqual(["switch-to-next-ca"]);
    expect(await publishedBundle()).toEqual({ bundle: [subjectOf(nextCa), subjectOf(firstCa)] });
    const served = await servedCertificate();
    expect(served.checkIssued(new X509Certificate(nextCa))).toBe(true);
    expect(served.fingerprint256).toBe(new X509Certificate(manager.current.cert).fingerprint256);

    // Phase 3, another day later: the old CA leaves the bundle.
    await after(STEP_AFTER[2]);
    now = new Date(now.getTime() + phaseMs);
    const dropped = await manager.reconcile();
    expect(dropped.steps.map((s) => s.action)).toEqual(["drop-previous-ca"]);
    expect(await publishedBundle()).toEqual({ bundle: [subjectOf(nextCa)] });
    expect(manager.readiness()).toEqual({ ready: true });

    await loop;
    expect(failures).toEqual([]);
    expect(done).toBe(CALLS);
  });
});
