import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { serve } from "../../src/cli/serve.js";
import { bundleOf } from "../../src/k8s/caBundle.js";
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

describe("tollgate serve --bootstrap", () => {
  it("takes its certificate from the cluster, publishes the caBundle and is ready over TLS", async () => {
    const [port, metricsPort] = [await freePort(), await freePort()];
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const running = serve([
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
    ]);
    try {
      const ready = await until(async () => {
        const vwc = api.objects.get("validatingwebhookconfigurations/tollgate");
        if (!vwc) throw new Error("no configuration yet");
        return get(port, "/readyz", bundleOf(vwc as Parameters<typeof bundleOf>[0])!);
      });
      expect(ready).toEqual({ status: 200, body: '{"status":"ready"}' });
      const secret = api.objects.get("secrets/tollgate/tollgate-certs") as { data: Record<string, string> };
      expect(Object.keys(secret.data).sort()).toEqual(["ca.crt", "ca.key", "tls.crt", "tls.key"]);
    } finally {
      process.emit("SIGTERM");
      expect(await running).toBe(0);
      stderr.mockRestore();
    }
  });
});
