import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { credentialKey, credentialPaths } from "../../src/audit/checks/helm-release-hygiene.js";
import { decodeRelease, MAX_RELEASE_BYTES, releasesOf } from "../../src/audit/checks/helm.js";
import type { KubeObject } from "../../src/objects/object.js";
import { helmReleaseSecret } from "../support/helmRelease.js";

/** A release Secret whose `release` key holds `payload` as Helm encodes it (base64), served base64 again. */
function secretWith(payload: Buffer): KubeObject {
  const helmEncoded = payload.toString("base64");
  return {
    apiVersion: "v1",
    kind: "Secret",
    type: "helm.sh/release.v1",
    metadata: { name: "sh.helm.release.v1.x.v1", namespace: "shop" },
    data: { release: Buffer.from(helmEncoded).toString("base64") },
  };
}

describe("decodeRelease", () => {
  it("reads the status and the user-supplied values of a release as Helm writes it", () => {
    const secret = helmReleaseSecret({
      name: "web",
      namespace: "shop",
      revision: 3,
      status: "deployed",
      config: { auth: { existingSecret: "web" } },
    }) as KubeObject;
    expect(decodeRelease(secret)).toEqual({
      status: "deployed",
      config: { auth: { existingSecret: "web" } },
    });
  });

  it("reads an uncompressed JSON payload too", () => {
    expect(decodeRelease(secretWith(Buffer.from('{"info":{"status":"failed"}}')))).toEqual({
      status: "failed",
      config: {},
    });
  });

  it("refuses a payload that inflates past the bound, without inflating it all", () => {
    const bomb = gzipSync(Buffer.alloc(MAX_RELEASE_BYTES + 1, 0x20));
    expect(bomb.length).toBeLessThan(100_000);
    expect(decodeRelease(secretWith(bomb))).toEqual({ error: "its release inflates past 16 MiB" });
  });

  it("says what is wrong with a payload that is not a release", () => {
    expect(decodeRelease(secretWith(Buffer.from([0x1f, 0x8b, 1, 2, 3])))).toEqual({
      error: "its release is not valid gzip",
    });
    expect(decodeRelease(secretWith(gzipSync("[1, 2")))).toEqual({ error: "its release is not JSON" });
    expect(decodeRelease(secretWith(gzipSync("[1, 2]")))).toEqual({
      error: "its release is not a JSON object",
    });
    const empty = { ...secretWith(Buffer.from("")), data: {} };
    expect(decodeRelease(empty)).toEqual({ error: "it has no data.release" });
  });
});

describe("releasesOf", () => {
  it("groups revisions by namespace and release, oldest first, by the number in the Secret's name", () => {
    const secrets = [10, 9, 2].map(
      (revision) =>
        helmReleaseSecret({
          name: "my.app",
          namespace: "shop",
          revision,
          status: "superseded",
        }) as KubeObject,
    );
    const other = helmReleaseSecret({
      name: "my.app",
      namespace: "data",
      revision: 1,
      status: "deployed",
    }) as KubeObject;
    const releases = releasesOf([...secrets, other, { ...other, type: "Opaque" }]);
    expect([...releases.keys()]).toEqual(["shop/my.app", "data/my.app"]);
    expect(releases.get("shop/my.app")!.map((r) => r.revision)).toEqual([2, 9, 10]);
  });
});

describe("credential values", () => {
  it.each([
    ["password", true],
    ["adminPassword", true],
    ["apiKey", true],
    ["auth_token", true],
    ["clientSecret", true],
    ["existingSecret", false],
    ["passwordFile", false],
    ["tokenTTL", false],
    ["username", false],
  ])("%s names a credential: %s", (key, expected) => {
    expect(credentialKey(key)).toBe(expected);
  });

  it("names key paths, quoting keys that are not plain words, and skips empty or non-literal values", () => {
    expect(
      credentialPaths({
        "db.example.com": { password: "x" },
        list: [{ token: 7 }, { token: "" }, { token: null }],
        auth: { password: { valueFrom: "secret" } },
      }),
    ).toEqual(['"db.example.com".password', "list[0].token"]);
  });

  it("stops at a depth and entry bound", () => {
    let deep: Record<string, unknown> = { password: "x" };
    for (let i = 0; i < 40; i++) deep = { nested: deep };
    expect(credentialPaths(deep)).toEqual([]);
    const wide = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, i]));
    expect(credentialPaths({ ...wide, password: "x" })).toEqual([]);
  });
});
