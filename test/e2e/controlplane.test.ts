import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ControlPlane, startControlPlane, USER_NAME } from "./controlplane.js";

// The first run builds kube-apiserver, kubectl and etcd (7-11 min on 2 cores); later runs use the cache.
const BUILD_AND_START_TIMEOUT_MS = 45 * 60 * 1000;

const pinnedVersion = (() => {
  const goMod = readFileSync(new URL("./controlplane/apiserver/go.mod", import.meta.url), "utf8");
  const match = /^\s*(?:require\s+)?k8s\.io\/kubernetes (v\d+\.\d+\.\d+)$/m.exec(goMod);
  if (!match?.[1]) throw new Error("k8s.io/kubernetes version not found in go.mod");
  return match[1];
})();

interface VersionInfo {
  gitVersion: string;
  major: string;
  minor: string;
}

describe("e2e control plane", () => {
  let cp: ControlPlane;
  const suffix = randomBytes(3).toString("hex");
  const namespace = `cp-${suffix}`;

  beforeAll(async () => {
    cp = await startControlPlane();
  }, BUILD_AND_START_TIMEOUT_MS);

  afterAll(async () => {
    await cp?.stop();
  });

  it("runs kubectl from the same release as the apiserver", async () => {
    const r = await cp.kubectl(["version", "-o", "json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const v = JSON.parse(r.stdout) as {
      clientVersion: VersionInfo;
      serverVersion: VersionInfo;
    };
    const [, major, minor] = /^v(\d+)\.(\d+)\./.exec(pinnedVersion) ?? [];
    expect(v.clientVersion).toMatchObject({
      gitVersion: pinnedVersion,
      major,
      minor,
    });
    expect(v.serverVersion).toMatchObject({
      gitVersion: pinnedVersion,
      major,
      minor,
    });
    expect(cp.kubernetesVersion).toBe(pinnedVersion);
    expect(cp.apiserverUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it("authenticates alice as an ordinary user", async () => {
    const r = await cp.kubectl(["auth", "whoami", "-o", "json"], {
      user: true,
    });
    expect(r.code).toBe(0);
    const review = JSON.parse(r.stdout) as {
      status: { userInfo: { username: string; groups: string[] } };
    };
    expect(review.status.userInfo.username).toBe(USER_NAME);
    expect(review.status.userInfo.groups).toEqual(["system:authenticated"]);
  });

  it("lets the admin create a namespace", async () => {
    const r = await cp.kubectl(["create", "namespace", namespace]);
    expect(r).toEqual({
      code: 0,
      stdout: `namespace/${namespace} created\n`,
      stderr: "",
    });
    const get = await cp.kubectl(["get", "namespace", namespace, "-o", "jsonpath={.status.phase}"]);
    expect(get).toEqual({ code: 0, stdout: "Active", stderr: "" });
  });

  it("lets alice create a ConfigMap in it", async () => {
    const r = await cp.kubectl(
      ["create", "configmap", "demo", "-n", namespace, "--from-literal=greeting=hello"],
      {
        user: true,
      },
    );
    expect(r).toEqual({
      code: 0,
      stdout: "configmap/demo created\n",
      stderr: "",
    });
    const get = await cp.kubectl([
      "get",
      "configmap",
      "demo",
      "-n",
      namespace,
      "-o",
      "jsonpath={.data.greeting}",
    ]);
    expect(get).toEqual({ code: 0, stdout: "hello", stderr: "" });
  });

  it("forbids alice to create a ClusterRole", async () => {
    const name = `tollgate-e2e-${suffix}`;
    const manifest = [
      "apiVersion: rbac.authorization.k8s.io/v1",
      "kind: ClusterRole",
      `metadata: {name: ${name}}`,
      "rules: [{apiGroups: [''], resources: [configmaps], verbs: [get]}]",
      "",
    ].join("\n");
    const r = await cp.kubectl(["create", "-f", "-"], {
      user: true,
      input: manifest,
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      `Error from server (Forbidden): error when creating "STDIN": clusterroles.rbac.authorization.k8s.io is forbidden: User "${USER_NAME}" cannot create resource "clusterroles" in API group ` +
        `"rbac.authorization.k8s.io" at the cluster scope\n`,
    );
    const get = await cp.kubectl(["get", "clusterrole", name]);
    expect(get.code).toBe(1);
    expect(get.stderr).toBe(
      `Error from server (NotFound): clusterroles.rbac.authorization.k8s.io "${name}" not found\n`,
    );
  });

  it("creates namespaces whose default ServiceAccount exists, so alice can create Pods", async () => {
    const ns = `cp-pods-${suffix}`;
    await cp.createNamespace(ns, { "tollgate.dev/mode": "warn" });
    const labels = await cp.kubectl([
      "get",
      "namespace",
      ns,
      "-o",
      "jsonpath={.metadata.labels.tollgate\\.dev/mode}",
    ]);
    expect(labels).toEqual({ code: 0, stdout: "warn", stderr: "" });
    const r = await cp.kubectl(
      ["run", "web", "-n", ns, "--image=registry.example/web:1.0", "--restart=Never"],
      {
        user: true,
      },
    );
    expect(r).toEqual({ code: 0, stdout: "pod/web created\n", stderr: "" });
    const sa = await cp.kubectl(["get", "pod", "web", "-n", ns, "-o", "jsonpath={.spec.serviceAccountName}"]);
    expect(sa).toEqual({ code: 0, stdout: "default", stderr: "" });
  });

  it("stops every process and removes its directory, twice without error", async () => {
    const { dir, apiserverUrl, etcdUrl } = cp;
    expect(existsSync(dir)).toBe(true);
    await cp.stop();
    await cp.stop();
    expect(existsSync(dir)).toBe(false);
    await expect(fetch(`${etcdUrl}/health`)).rejects.toThrow();
    await expect(fetch(`${apiserverUrl}/readyz`)).rejects.toThrow();
  });
});
