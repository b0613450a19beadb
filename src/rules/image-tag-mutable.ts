import { parseImage } from "./image.js";
import type { PodSpecTarget, RawFinding, Rule } from "./types.js";
import { containersOf, quote } from "./visit.js";
import { POD_SPEC_KINDS } from "../objects/kinds.js";

export const imageTagMutable: Rule<PodSpecTarget> = {
  id: "image-tag-mutable",
  title: "Images are pinned to a version or digest",
  category: "images",
  defaultSeverity: "warn",
  targets: ["podSpec"],
  kinds: POD_SPEC_KINDS,
  description:
    "An image without a tag, or tagged latest, is whatever was pushed last: two nodes can run different code under one spec, and a rollback does not roll back. Pin a version tag or, better, a digest (`@sha256:…`). A registry port is not a tag: `registry:5000/app` has none.",
  remediation: `Pin the image to a release, or to its digest:

\`\`\`yaml
containers:
  - name: web
    image: ghcr.io/acme/web:1.4.2@sha256:4c0f2e0d5b7a9e8f3c1d2b6a7e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f
\`\`\``,
  check(target) {
    const findings: RawFinding[] = [];
    for (const visited of containersOf(target)) {
      const image = visited.container.image;
      if (!image) continue;
      const ref = parseImage(image);
      if (ref.digest !== undefined || (ref.tag !== undefined && ref.tag !== "latest")) continue;
      const name = quote(visited.name);
      findings.push({
        path: `${visited.path}.image`,
        container: visited.name,
        message:
          ref.tag === undefined
            ? `container ${name} image ${quote(image)} has no tag or digest`
            : `container ${name} image ${quote(image)} has the mutable tag latest`,
        fix: `pin the image of container ${name} to a version tag or a digest (@sha256:…)`,
      });
    }
    return findings;
  },
};
