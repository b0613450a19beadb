import { isFromRegistry, parseImage } from "./image.js";
import type { PodSpecTarget, RawFinding, Rule } from "./types.js";
import { containersOf, quote } from "./visit.js";
import { POD_SPEC_KINDS } from "../objects/kinds.js";

export const imageRegistryUntrusted: Rule<PodSpecTarget> = {
  id: "image-registry-untrusted",
  title: "Images come from allowed registries",
  category: "images",
  defaultSeverity: "off",
  targets: ["podSpec"],
  kinds: POD_SPEC_KINDS,
  description:
    "Images pulled from anywhere bypass the scanning, signing and retention a platform team applies to its own registries. When `allowedRegistries` lists registries (a host such as `ghcr.io`, or a host and path such as `ghcr.io/acme`), every image must come from one of them; Docker Hub images, `nginx` included, come from `docker.io`. Off by default: turn it on once the list is set.",
  remediation: `Mirror the image into an allowed registry and point the container at it:

\`\`\`yaml
# config
allowedRegistries: ["registry.example.com", "ghcr.io/acme"]
rules:
  image-registry-untrusted:
    severity: deny
---
# pod spec
containers:
  - name: web
    image: registry.example.com/mirror/nginx:1.27
\`\`\``,
  check(target, ctx) {
    if (ctx.allowedRegistries.length === 0) return [];
    const findings: RawFinding[] = [];
    for (const visited of containersOf(target)) {
      const image = visited.container.image;
      if (!image) continue;
      const ref = parseImage(image);
      if (isFromRegistry(ref, ctx.allowedRegistries)) continue;
      const name = quote(visited.name);
      findings.push({
        path: `${visited.path}.image`,
        container: visited.name,
        message: `container ${name} image ${quote(image)}: registry not allowed`,
        fix: `pull the image of container ${name} from one of: ${ctx.allowedRegistries.join(", ")}`,
      });
    }
    return findings;
  },
};
