import { gunzipSync } from "node:zlib";
import { isRecord, type KubeObject, refOf } from "../../objects/object.js";
import { labelsOf } from "./shared.js";

/** The type of the Secrets Helm 3 stores its releases in (its default storage driver). */
export const HELM_RELEASE_SECRET_TYPE = "helm.sh/release.v1";

/**
 * The most a release payload may inflate to. A Secret holds at most 1 MiB, which gzip could turn into
 * a gigabyte; real releases (manifest, chart files, values) stay well under this.
 */
export const MAX_RELEASE_BYTES = 16 * 1024 * 1024;

const GZIP_MAGIC = [0x1f, 0x8b] as const;
const SECRET_NAME = /^sh\.helm\.release\.v1\.(.+)\.v(\d+)$/;

/** One revision of a release, as its Secret's name and labels tell it. */
export interface ReleaseRevision {
  secret: KubeObject;
  namespace: string;
  release: string;
  revision: number;
}

/** What the audit reads from a decoded release: its status and the values the user supplied. */
export interface DecodedRelease {
  status: string | undefined;
  /** The user-supplied values (`helm install -f`/`--set`), not the chart's defaults. */
  config: Record<string, unknown>;
}

/** A Secret's release and revision, from its name `sh.helm.release.v1.<release>.v<revision>`; else undefined. */
export function revisionOf(secret: KubeObject): ReleaseRevision | undefined {
  if (secret.type !== HELM_RELEASE_SECRET_TYPE) return undefined;
  const ref = refOf(secret);
  const match = SECRET_NAME.exec(ref.name);
  if (!match) return undefined;
  return { secret, namespace: ref.namespace, release: match[1]!, revision: Number(match[2]) };
}

/** The revisions of each release (`namespace/release`), oldest first. */
export function releasesOf(secrets: readonly KubeObject[]): Map<string, ReleaseRevision[]> {
  const releases = new Map<string, ReleaseRevision[]>();
  for (const secret of secrets) {
    const revision = revisionOf(secret);
    if (!revision) continue;
    const key = `${revision.namespace}/${revision.release}`;
    releases.set(key, [...(releases.get(key) ?? []), revision]);
  }
  for (const revisions of releases.values()) revisions.sort((a, b) => a.revision - b.revision);
  return releases;
}

/**
 * The release in a Helm release Secret, or why it cannot be read. Helm stores
 * base64(gzip(JSON)) in the Secret's `release` key, which the API serves base64-encoded once more.
 * The payload is inflated with a bound (MAX_RELEASE_BYTES) and parsed without trusting its shape.
 */
export function decodeRelease(secret: KubeObject): DecodedRelease | { error: string } {
  const data = isRecord(secret.data) ? secret.data.release : undefined;
  if (typeof data !== "string" || data === "") return { error: "it has no data.release" };
  const payload = Buffer.from(Buffer.from(data, "base64").toString("latin1"), "base64");
  let json: Buffer = payload;
  if (payload[0] === GZIP_MAGIC[0] && payload[1] === GZIP_MAGIC[1]) {
    try {
      json = gunzipSync(payload, { maxOutputLength: MAX_RELEASE_BYTES });
    } catch (error) {
      return error instanceof RangeError
        ? { error: `its release inflates past ${MAX_RELEASE_BYTES / 1024 / 1024} MiB` }
        : { error: "its release is not valid gzip" };
    }
  }
  let release: unknown;
  try {
    release = JSON.parse(json.toString("utf8"));
  } catch {
    return { error: "its release is not JSON" };
  }
  if (!isRecord(release)) return { error: "its release is not a JSON object" };
  const info = isRecord(release.info) ? release.info : {};
  return {
    status: typeof info.status === "string" ? info.status : undefined,
    config: isRecord(release.config) ? release.config : {},
  };
}

/** The status Helm wrote on the Secret's `status` label, for a revision whose payload cannot be read. */
export function labelledStatus(secret: KubeObject): string | undefined {
  return labelsOf(secret).status;
}
