import { X509Certificate } from "node:crypto";
import { connect, type Server as TlsServer } from "node:tls";
import { AdmissionregistrationV1Api, CoreV1Api } from "@kubernetes/client-node";
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.js";
import { DEFAULT_CONFIG } from "../../src/config/load.js";
import { compilePolicy } from "../../src/engine/policy.js";
import { bundleOf, WebhookCaBundle } from "../../src/k8s/caBundle.js";
import { KubeSecretStore } from "../../src/k8s/certSecret.js";
import { buildWebhookConfiguration } from "../../src/k8s/webhookConfig.js";
import { createMetrics } from "../../src/metrics.js";
import { ALL_RULES } from "../../src/rules/index.js";
import { generateCa } from "../../src/tls/certs.js";
import { CertificateManager } from "../../src/tls/manager.js";
import { swapCertificate } from "../../src/tls/reload.js";
import { chainsToBundle, DEFAULT_ROTATION, serviceHosts } from "../../src/tls/rotation.js";
import { FakeKubeApi } from "../helpers/fakeKubeApi.js";

const DAY = 24 * 60 * 60 * 1000;
const HOST = "tollgate.tollgate.svc";
const VWC_KEY = "validatingwebhookconfigurations/tollgate";

let api: FakeKubeApi;
let app: FastifyInstance | undefined;

beforeEach(async () => {
  api = new FakeKubeApi();
  await api.start();
});

afterEach(async () => {
  await app?.close();
  app = undefined;
  await api.stop();
});

function replica(clock: () => Date) {
  const kc = api.kubeConfig();
  const metrics = createMetrics();
  const manager = new CertificateManager({
    store: new KubeSecretStore(kc.makeApiClient(CoreV1Api), "tollgate"),
    publisher: new WebhookCaBundle(kc.makeApiClient(AdmissionregistrationV1Api), "tollgate", (caBundle) =>
      buildWebhookConfiguration(DEFAULT_CONFIG, { caBundle, rules: ALL_RULES.slice(0, 6) }),
    ),
    policy: { ...DEFAULT_ROTATION, hosts: serviceHosts("tollgate", "tollgate") },
    clock,
    metrics,
  });
  return { manager, metrics };
}

/** The certificate a client gets in a TLS handshake. `verify` also has OpenSSL check the chain (wall clock). */
function handshake(port: number, verifyWith?: string): Promise<string> {
  return new Promise((done, fail) => {
    const socket = connect(
      {
        host: "127.0.0.1",
        port,
        servername: HOST,
        ...(verifyWith ? { ca: verifyWith, rejectUnauthorized: true } : { rejectUnauthorized: false }),
      },
      () => {
        const cert = socket.getPeerX509Certificate()!.toString();
        socket.end();
        done(cert);
      },
    );
    socket.once("error", fail);
  });
}

function liveBundle(): string {
  return bundleOf(api.objects.get(VWC_KEY)! as Parameters<typeof bundleOf>[0])!;
}

describe("CertificateManager with two replicas, a real TLS server and a fake clock", () => {
  it("renews, rotates the CA and drops the old one while every handshake chains to the published caBundle", async () => {
    const start = new Date();
    let now = start;
    const clock = () => now;
    const a = replica(clock);
    const b = replica(clock);
    const log: string[] = [];
    const record = (day: number, steps: { action: string }[]) => {
      for (const step of steps) log.push(`${day} ${step.action}`);
    };

    // Both replicas start together: one creates the Secret and the configuration, the other uses them.
    const [first, second] = await Promise.all([a.manager.reconcile(), b.manager.reconcile()]);
    record(0, [...first.steps, ...second.steps]);
    expect(a.manager.current).toEqual(b.manager.current);

    app = buildApp({
      https: a.manager.current,
      policy: () => compilePolicy(DEFAULT_CONFIG),
      metrics: a.metrics,
      logger: pino({ level: "silent" }),
      readiness: () => a.manager.readiness(),
    });
    a.manager.onChange((pair) => swapCertificate(app!.server as unknown as TlsServer, pair));
    await app.listen({ port: 0, host: "127.0.0.1" });
    const port = (app.server.address() as { port: number }).port;

    // On the wall clock, OpenSSL itself accepts the chain against the published bundle.
    const real = new X509Certificate(await handshake(port, liveBundle()));
    expect(real.checkHost(HOST)).toBe(HOST);

    const check = async (day: number) => {
      const served = await handshake(port);
      expect(chainsToBundle(served, liveBundle(), now), `day ${day}: served leaf chains to caBundle`).toBe(
        true,
      );
      expect(new X509Certificate(served).checkHost(HOST)).toBe(HOST);
      expect(chainsToBundle(b.manager.current.cert, liveBundle(), now)).toBe(true);
      const ready = await app!.inject({ method: "GET", url: "/readyz" });
      expect(ready.statusCode, `day ${day}: ${ready.body}`).toBe(200);
    };

    const days = [
      // Each renewal day, then day by day through the CA rotation.
      ...Array.from({ length: 20 }, (_, i) => (i + 1) * 60),
      ...Array.from({ length: 6 }, (_, i) => 1215 + i),
    ].sort((x, y) => x - y);
    const bundlesSeen = new Set<number>();
    for (const day of [...new Set(days)]) {
      now = new Date(start.getTime() + day * DAY);
      await check(day);
      const [ra, rb] = await Promise.all([a.manager.reconcile(), b.manager.reconcile()]);
      record(day, [...ra.steps, ...rb.steps]);
      await check(day);
      expect(b.manager.current).toEqual(a.manager.current);
      bundlesSeen.add(liveBundle().match(/BEGIN CERTIFICATE/g)!.length);
    }

    expect(log).toEqual([
      "0 create",
      ...Array.from({ length: 20 }, (_, i) => `${(i + 1) * 60} renew-leaf`),
      "1217 start-ca-rotation",
      "1218 switch-to-next-ca",
      "1219 drop-previous-ca",
    ]);
    expect([...bundlesSeen].sort()).toEqual([1, 2]);
    const gauge = await a.metrics.certificateExpiry.get();
    expect(gauge.values.find((v) => v.labels.certificate === "serving")?.value).toBe(
      Date.parse(new X509Certificate(a.manager.current.cert).validTo) / 1000,
    );
  });

  it("is not ready while the published caBundle does not hold its CA, and recovers once it can publish", async () => {
    const now = new Date();
    const { manager } = replica(() => now);
    await manager.reconcile();
    expect(manager.readiness()).toEqual({ ready: true });

    // Someone re-applies the configuration with another CA, and tollgate has lost its patch right.
    const foreign = await generateCa();
    api.put(
      VWC_KEY,
      JSON.parse(
        JSON.stringify(
          buildWebhookConfiguration(DEFAULT_CONFIG, { caBundle: foreign.cert, rules: ALL_RULES.slice(0, 6) }),
        ),
      ),
    );
    api.beforeWrite = () => 403;
    await expect(manager.reconcile()).rejects.toThrow(
      "cannot patch the caBundle of ValidatingWebhookConfiguration tollgate: the apiserver answered 403: PATCH validatingwebhookconfigurations/tollgate is forbidden",
    );
    expect(manager.readiness()).toEqual({
      ready: false,
      reason: "the serving certificate does not chain to the published caBundle",
    });

    api.beforeWrite = undefined;
    await manager.reconcile();
    expect(manager.readiness()).toEqual({ ready: true });
    expect(chainsToBundle(manager.current.cert, liveBundle(), now)).toBe(true);
  });

  it("reconciles without publishing, then registers only while its certificate would make it ready", async () => {
    let now = new Date();
    const { manager } = replica(() => now);
    const result = await manager.reconcile(undefined, { publish: false });
    expect(result.published).toBe(false);
    // The Secret was written; the webhook configuration only read.
    expect(api.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      "GET /api/v1/namespaces/tollgate/secrets/tollgate-certs",
      "GET /apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/tollgate",
      "POST /api/v1/namespaces/tollgate/secrets",
    ]);
    expect(api.objects.has(VWC_KEY)).toBe(false);
    expect(manager.registration).toBeUndefined();

    // 85 days on, the 90-day leaf is within readiness' 7-day margin: no registration.
    const later = now;
    now = new Date(later.getTime() + 85 * DAY);
    await expect(manager.register()).rejects.toThrow(
      /^not registering in the webhook configuration: the serving certificate expires at \S+, within 7 days$/,
    );
    expect(api.objects.has(VWC_KEY)).toBe(false);

    now = later;
    expect(await manager.register({ create: false })).toBe("absent");
    expect(api.objects.has(VWC_KEY)).toBe(false);
    expect(await manager.register()).toBe("created");
    expect(chainsToBundle(manager.current.cert, liveBundle(), now)).toBe(true);
    expect(await manager.register()).toBe("unchanged");
    expect(manager.registration).toBe("unchanged");
  });
});
