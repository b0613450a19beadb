/** An image reference split the way the container runtime reads it. */
export interface ImageRef {
  /** Registry host, with its port when it has one; `docker.io` for Docker Hub. */
  registry: string;
  /** Repository path in the registry; Docker Hub's official images get their `library/` prefix. */
  repository: string;
  /** undefined when the reference has no tag (the runtime then pulls `latest`). */
  tag: string | undefined;
  /** `sha256:…` when the reference pins a digest. */
  digest: string | undefined;
}

export const DOCKER_HUB = "docker.io";

/**
 * Parse an image reference: `nginx`, `nginx:1.27`, `ghcr.io/org/app@sha256:…`, `registry:5000/app`.
 * The first path component is a registry only when it looks like a host (a dot, a port, or
 * `localhost`), as in the Docker reference grammar; so `registry:5000/app` has no tag.
 */
export function parseImage(reference: string): ImageRef {
  let name = reference;
  let digest: string | undefined;
  const at = name.indexOf("@");
  if (at !== -1) {
    digest = name.slice(at + 1);
    name = name.slice(0, at);
  }
  let tag: string | undefined;
  const colon = name.lastIndexOf(":");
  if (colon > name.lastIndexOf("/")) {
    tag = name.slice(colon + 1);
    name = name.slice(0, colon);
  }
  let registry = DOCKER_HUB;
  let repository = name;
  const slash = name.indexOf("/");
  if (slash !== -1) {
    const first = name.slice(0, slash);
    if (first.includes(".") || first.includes(":") || first === "localhost") {
      registry = first === "index.docker.io" ? DOCKER_HUB : first;
      repository = name.slice(slash + 1);
    }
  }
  if (registry === DOCKER_HUB && !repository.includes("/")) repository = `library/${repository}`;
  return { registry, repository, tag, digest };
}

/**
 * Is the image from one of the allowed registries? An entry is a registry host (`ghcr.io`,
 * `registry:5000`) or a host with a path prefix (`ghcr.io/acme`), matched on whole path segments.
 */
export function isFromRegistry(image: ImageRef, allowed: readonly string[]): boolean {
  const full = `${image.registry}/${image.repository}`;
  for (const raw of allowed) {
    const entry = raw.endsWith("/") ? raw.slice(0, -1) : raw;
    if (entry === image.registry || full === entry || full.startsWith(`${entry}/`)) return true;
  }
  return false;
}
