import { describe, expect, it } from "vitest";
import { isFromRegistry, parseImage } from "../../src/rules/image.js";

describe("parseImage", () => {
  it.each([
    ["nginx", { registry: "docker.io", repository: "library/nginx", tag: undefined, digest: undefined }],
    ["nginx:1.27", { registry: "docker.io", repository: "library/nginx", tag: "1.27", digest: undefined }],
    ["bitnami/redis:7", { registry: "docker.io", repository: "bitnami/redis", tag: "7", digest: undefined }],
    [
      "registry:5000/app",
      { registry: "registry:5000", repository: "app", tag: undefined, digest: undefined },
    ],
    ["registry:5000/app:2", { registry: "registry:5000", repository: "app", tag: "2", digest: undefined }],
    ["localhost/app", { registry: "localhost", repository: "app", tag: undefined, digest: undefined }],
    [
      "app@sha256:4c0f2e0d",
      { registry: "docker.io", repository: "library/app", tag: undefined, digest: "sha256:4c0f2e0d" },
    ],
    [
      "ghcr.io/acme/web:1.4@sha256:4c0f2e0d",
      { registry: "ghcr.io", repository: "acme/web", tag: "1.4", digest: "sha256:4c0f2e0d" },
    ],
    [
      "index.docker.io/library/nginx",
      { registry: "docker.io", repository: "library/nginx", tag: undefined, digest: undefined },
    ],
  ])("%s", (reference, expected) => {
    expect(parseImage(reference)).toEqual(expected);
  });
});

describe("isFromRegistry", () => {
  const allowed = ["registry.example.com", "ghcr.io/acme/", "registry:5000"];
  it.each([
    ["registry.example.com/team/app:1", true],
    ["ghcr.io/acme/web:1", true],
    ["ghcr.io/acme-evil/web:1", false],
    ["ghcr.io/other/web:1", false],
    ["registry:5000/app", true],
    ["registry.example.com:5000/app", false],
    ["nginx", false],
  ])("%s → %s", (reference, expected) => {
    expect(isFromRegistry(parseImage(reference), allowed)).toBe(expected);
  });

  it("matches Docker Hub library images by docker.io", () => {
    expect(isFromRegistry(parseImage("nginx:1.27"), ["docker.io"])).toBe(true);
    expect(isFromRegistry(parseImage("nginx:1.27"), ["docker.io/library"])).toBe(true);
    expect(isFromRegistry(parseImage("bitnami/redis"), ["docker.io/library"])).toBe(false);
  });
});
