import type { V1NetworkPolicy } from "@kubernetes/client-node";
import { afterEach, describe, expect, it, vi } from "vitest";
import { manifests } from "../../src/cli/manifests.js";
import { installManifests, installYaml } from "../../src/k8s/manifests.js";

function ingressPolicy(options: Parameters<typeof installManifests>[0] = {}): V1NetworkPolicy {
  const found = installManifests(options).find(
    (o) => o.kind === "NetworkPolicy" && o.metadata?.name === "tollgate-ingress",
  );
  if (!found) throw new Error("no NetworkPolicy tollgate-ingress");
  return found as V1NetworkPolicy;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("the tollgate-ingress NetworkPolicy", () => {
  it("opens the webhook port to every source by default, as the apiserver's address is not known", () => {
    expect(ingressPolicy().spec?.ingress).toEqual([
      { ports: [{ port: "https", protocol: "TCP" }] },
      { ports: [{ port: "metrics", protocol: "TCP" }] },
    ]);
  });

  it("opens the webhook port to the apiserver's CIDRs only when they are given", () => {
    expect(ingressPolicy({ apiserverCidrs: ["10.0.0.0/24", "2001:db8::/64"] }).spec?.ingress).toEqual([
      {
        from: [{ ipBlock: { cidr: "10.0.0.0/24" } }, { ipBlock: { cidr: "2001:db8::/64" } }],
        ports: [{ port: "https", protocol: "TCP" }],
      },
      { ports: [{ port: "metrics", protocol: "TCP" }] },
    ]);
  });
});

describe("tollgate manifests --apiserver-cidr", () => {
  it("prints the policy restricted to the CIDRs given, repeated or comma-separated", async () => {
    let printed = "";
    vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      printed += String(chunk);
      return true;
    });
    expect(
      await manifests(["--apiserver-cidr", "10.0.0.0/24,192.168.1.10/32", "--apiserver-cidr", "fd00::/8"]),
    ).toBe(0);
    expect(printed).toBe(installYaml({ apiserverCidrs: ["10.0.0.0/24", "192.168.1.10/32", "fd00::/8"] }));
    expect(printed).toContain("- ipBlock:\n            cidr: 10.0.0.0/24\n");
  });

  it.each([
    ["10.0.0.0", "10.0.0.0"],
    ["10.0.0.0/33", "10.0.0.0/33"],
    ["300.0.0.0/8", "300.0.0.0/8"],
    ["fd00::/129", "fd00::/129"],
    ["", ""],
  ])("refuses %j", async (value, shown) => {
    await expect(manifests(["--apiserver-cidr", value])).rejects.toThrow(
      `--apiserver-cidr ${JSON.stringify(shown)} is not a CIDR (an IPv4 or IPv6 address, a slash and a prefix length: 10.0.0.0/24)`,
    );
  });
});
