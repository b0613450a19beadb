import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { UsageError } from "../../src/cli/args.js";
import { certs } from "../../src/cli/certs.js";
import { bundleOf } from "../../src/k8s/caBundle.js";
import { FakeKubeApi } from "../helpers/fakeKubeApi.js";

let api: FakeKubeApi;
let dir: string;

beforeEach(async () => {
  api = new FakeKubeApi();
  await api.start();
  dir = mkdtempSync(join(tmpdir(), "tollgate-certs-"));
});

afterEach(async () => {
  vi.restoreAllMocks();
  await api.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function run(argv: string[]): Promise<{ code: number; out: string }> {
  let out = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  const code = await certs(argv);
  vi.restoreAllMocks();
  return { code, out };
}

describe("tollgate certs", () => {
  it("bootstraps the Secret and a URL webhook configuration, then reports no change", async () => {
    const kubeconfig = api.writeKubeconfig(dir);
    const first = await run(["bootstrap", "--kubeconfig", kubeconfig, "--url", "https://127.0.0.1:9443"]);
    expect(first.code).toBe(0);
    expect(first.out).toMatch(
      /^create: no certificates are stored yet\nSecret tollgate\/tollgate-certs: serving certificate expires \S+\nValidatingWebhookConfiguration tollgate: caBundle published \(1 CA\)\nnext: the certificates are valid\n$/,
    );
    const vwc = api.objects.get("validatingwebhookconfigurations/tollgate") as Parameters<typeof bundleOf>[0];
    expect(vwc.webhooks?.[0]?.clientConfig.url).toBe("https://127.0.0.1:9443/validate/enforce");
    expect(bundleOf(vwc)).toContain("BEGIN CERTIFICATE");
    // Created fail-open: tollgate may not be serving where `certs` runs; a running one registers Fail.
    expect(new Set(vwc.webhooks?.map((w) => w.failurePolicy))).toEqual(new Set(["Ignore"]));

    const again = await run(["bootstrap", "--kubeconfig", kubeconfig]);
    expect(again.out).toMatch(
      /^no change: the certificates are valid\n.*\nValidatingWebhookConfiguration tollgate: caBundle up to date \(1 CA\)\n/,
    );
  });

  it("rotate renews the leaf; rotate --ca publishes a second CA", async () => {
    const kubeconfig = api.writeKubeconfig(dir);
    await run(["bootstrap", "--kubeconfig", kubeconfig]);
    const leaf = await run(["rotate", "--kubeconfig", kubeconfig]);
    expect(leaf.out.split("\n")[0]).toBe("renew-leaf: a leaf renewal was asked for");
    const ca = await run(["rotate", "--ca", "--kubeconfig", kubeconfig]);
    expect(ca.out.split("\n")[0]).toBe("start-ca-rotation: a CA rotation was asked for");
    expect(ca.out).toContain("caBundle published (2 CA)");
    expect(ca.out).toMatch(/next: the next CA signs from \S+Z\n$/);
  });

  it("names a kubeconfig it cannot read", async () => {
    await expect(certs(["bootstrap", "--kubeconfig", join(dir, "missing")])).rejects.toThrow(
      `cannot load ${join(dir, "missing")}: ENOENT`,
    );
  });

  it("refuses a missing action, --ca on bootstrap and a URL with a path", async () => {
    await expect(certs([])).rejects.toThrow(UsageError);
    await expect(certs(["bootstrap", "--ca"])).rejects.toThrow("--ca goes with tollgate certs rotate");
    await expect(certs(["bootstrap", "--url", "https://x:1/validate"])).rejects.toThrow(
      '--url "https://x:1/validate" must be https://HOST[:PORT], without a path',
    );
  });
});
