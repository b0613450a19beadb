import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:https";
import { createServer, type Server } from "node:net";
import { connect } from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { serve } from "../../src/cli/serve.js";
import { bundleOf } from "../../src/k8s/caBundle.js";
import { buildWebhookConfiguration } from "../../src/k8s/webhookConfig.js";
import { installConfig } from "../../src/k8s/manifests.js";
import { chainsToBundle } from "../../src/tls/rotation.js";
import { FakeKubeApi } from "../helpers/fakeKubeApi.js";

let api: FakeKubeApi;
let dir: string;

beforeEach(async () => {
  api = new FakeKubeApi();
  await api.start();
  dir = mkdtempSync(join(tmpdir(), "tollgate-serve-"));
});

afterEach(async () => {
  await api.stop();
  rmSync(dir, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((done) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

function get(port: number, path: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((done, fail) => {
    const req = request({ host: "127.0.0.1", port, path, ca }, (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on("end", () => done({ status: res.statusCode ?? 0, body }));
    });
    req.once("error", fail);
    req.end();
  });
}

async function until<T>(probe: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await probe();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((wait) => setTimeout(wait, 50));
    }
  }
}

const VWC_KEY = "validatingwebhookconfigurations/tollgate";
/** The entries' failurePolicy once tollgate registered: enforce, warn, default, cluster, namespaces. */
const REGISTERED = ["Fail", "Fail", "Fail", "Fail", "Ignore"];
type Configuration = Parameters<typeof bundleOf>[0];

/** The certificate the server on `port` presents, without verifying it. */
function servedCertificate(port: number): Promise<string> {
  return new Promise((done, fail) => {
    const socket = connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
      const cert = socket.getPeerX509Certificate()!.toString();
      socket.end();
      done(cert);
    });
    socket.once("error", fail);
  });
}

/** Holds a port as another process would. */
function holdPort(): Promise<{ port: number; server: Server }> {
  return new Promise((done) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => done({ port: (server.address() as { port: number }).port, server }));
  });
}

function serveArgs(port: number, metricsPort: number, extra: string[] = []): string[] {
  return [
    "--bootstrap",
    "--kubeconfig",
    api.writeKubeconfig(dir),
    "--webhook-url",
    `https://127.0.0.1:${port}`,
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
    "--metrics-port",
    String(metricsPort),
    "--log-level",
    "silent",
    ...extra,
  ];
}

describe("tollgate serve --bootstrap", () => {
  it("takes its certificate from the cluster, serves it, then registers fail-closed and is ready over TLS", async () => {
    const [port, metricsPort] = [await freePort(), await freePort()];
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    // What the HTTPS port serves at the moment the configuration is written.
    let servedAtRegistration: Promise<string> | undefined;
    api.beforeWrite = (method, key) => {
      if (key === VWC_KEY) servedAtRegistration ??= servedCertificate(port);
      return undefined;
    };
    const running = serve(serveArgs(port, metricsPort));
    try {
      const ready = await until(async () => {
        const vwc = api.objects.get(VWC_KEY);
        if (!vwc) throw new Error("no configuration yet");
        return get(port, "/readyz", bundleOf(vwc as Configuration)!);
      });
      expect(ready).toEqual({ status: 200, body: '{"status":"ready"}' });
      const secret = api.objects.get("secrets/tollgate/tollgate-certs") as { data: Record<string, string> };
      expect(Object.keys(secret.data).sort()).toEqual(["ca.crt", "ca.key", "tls.crt", "tls.key"]);
      const vwc = api.objects.get(VWC_KEY) as Configuration;
      // Fail-closed, but for Namespace writes that leave policy metadata alone (see the builder).
      expect(vwc.webhooks!.map((w) => w.failurePolicy)).toEqual(REGISTERED);
      // The Secret first, the configuration last, and only once the port served a leaf of its CA.
      // (The continuous audit's Lease is its own business, not part of the registration.)
      const writes = api.requests
        .filter((r) => r.method !== "GET" && !r.path.includes("/leases"))
        .map((r) => `${r.method} ${r.path}`);
      expect(writes).toEqual([
        "POST /api/v1/namespaces/tollgate/secrets",
        "POST /apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations",
      ]);
      const served = await servedAtRegistration!;
      expect(chainsToBundle(served, bundleOf(vwc)!, new Date())).toBe(true);
      expect(new X509Certificate(served).checkIP("127.0.0.1")).toBe("127.0.0.1");
    } finally {
      process.emit("SIGTERM");
      expect(await running).toBe(0);
      stderr.mockRestore();
    }
  });

  it("registers on the shipped fail-open configuration, and puts its failurePolicy back after a re-apply", async () => {
    const shipped = buildWebhookConfiguration({
      ...installConfig("tollgate"),
      webhook: { ...installConfig("tollgate").webhook, failurePolicy: "Ignore" },
    });
    api.put(VWC_KEY, JSON.parse(JSON.stringify(shipped)) as Record<string, unknown>);
    const [port, metricsPort] = [await freePort(), await freePort()];
    const running = serve(serveArgs(port, metricsPort, ["--webhook-check-interval", "1"]));
    const policies = () => (api.objects.get(VWC_KEY) as Configuration).webhooks!.map((w) => w.failurePolicy);
    try {
      await until(async () => {
        const vwc = api.objects.get(VWC_KEY) as Configuration;
        const ca = bundleOf(vwc);
        if (!ca) throw new Error("no caBundle yet");
        const ready = await get(port, "/readyz", ca);
        if (ready.status !== 200) throw new Error(ready.body);
      });
      expect(policies()).toEqual(REGISTERED);

      // `kubectl apply` of the manifests again: the caBundle stays, failurePolicy is Ignore again.
      const reapplied = structuredClone(api.objects.get(VWC_KEY)!) as {
        webhooks: { failurePolicy: string }[];
      };
      for (const entry of reapplied.webhooks) entry.failurePolicy = "Ignore";
      api.put(VWC_KEY, reapplied as unknown as Record<string, unknown>);
      const since = Date.now();
      await until(async () => {
        if (policies().join() !== REGISTERED.join()) throw new Error(`still ${policies().join()}`);
      }, 3_000);
      expect(Date.now() - since).toBeLessThan(2_500);
    } finally {
      process.emit("SIGTERM");
      expect(await running).toBe(0);
    }
  });

  it.each([["port"], ["metrics-port"]])(
    "exits 1 at once, before any call to the cluster, when --%s is taken",
    async (flag) => {
      const taken = await holdPort();
      const free = await freePort();
      const [port, metricsPort] = flag === "port" ? [taken.port, free] : [free, taken.port];
      let err = "";
      const stderr = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
        err += String(chunk);
        return true;
      });
      try {
        const started = Date.now();
        expect(await serve(serveArgs(port, metricsPort))).toBe(1);
        expect(Date.now() - started).toBeLessThan(2_000);
      } finally {
        stderr.mockRestore();
        taken.server.close();
      }
      expect(err).toBe(
        `tollgate serve: cannot listen on 127.0.0.1:${taken.port} (--${flag}): the port is already in use (EADDRINUSE); stop what holds it or choose another --${flag}. Nothing was written to the cluster.\n`,
      );
      expect(api.requests).toEqual([]);
      // The port that could be bound was let go again.
      const again = createServer();
      await new Promise<void>((done, fail) => {
        again.once("error", fail);
        again.listen(free, "127.0.0.1", () => done());
      });
      again.close();
    },
  );

  it("takes --webhook-check-interval only with --bootstrap, in whole seconds", async () => {
    await expect(serve(["--webhook-check-interval", "5"])).rejects.toThrow(
      "--webhook-check-interval goes with --bootstrap",
    );
    await expect(serve(["--bootstrap", "--webhook-check-interval", "0.5"])).rejects.toThrow(
      '--webhook-check-interval must be a whole number of seconds from 1 to 3600, got "0.5"',
    );
  });
});
