import { gzipSync } from "node:zlib";

/** What a test says about one revision of a release; the rest of Helm's release record is filled in. */
export interface ReleaseSpec {
  name: string;
  namespace: string;
  revision: number;
  status: string;
  /** The user-supplied values (`helm install --set`). */
  config?: Record<string, unknown>;
}

/**
 * A release Secret as Helm 3's Secret driver writes it: named `sh.helm.release.v1.<name>.v<revision>`,
 * labelled name/owner/status/version, type `helm.sh/release.v1`, its `release` key holding
 * base64(gzip(JSON of the release)), which the API serves base64-encoded once more.
 */
export function helmReleaseSecret(spec: ReleaseSpec) {
  const release = {
    name: spec.name,
    info: {
      first_deployed: "2026-11-01T10:00:00Z",
      last_deployed: "2026-11-01T10:00:00Z",
      deleted: "",
      description: spec.status === "failed" ? "Upgrade failed" : "Install complete",
      status: spec.status,
    },
    chart: { metadata: { name: spec.name, version: "1.0.0", apiVersion: "v2" }, values: { replicas: 1 } },
    config: spec.config ?? {},
    manifest: "---\n# Source: chart/templates/service.yaml\napiVersion: v1\nkind: Service\n",
    version: spec.revision,
    namespace: spec.namespace,
  };
  const helmEncoded = gzipSync(JSON.stringify(release)).toString("base64");
  return {
    apiVersion: "v1",
    kind: "Secret",
    type: "helm.sh/release.v1",
    metadata: {
      name: `sh.helm.release.v1.${spec.name}.v${spec.revision}`,
      namespace: spec.namespace,
      labels: { name: spec.name, owner: "helm", status: spec.status, version: String(spec.revision) },
    },
    data: { release: Buffer.from(helmEncoded).toString("base64") },
  };
}
