import { isRecord, refOf } from "../../objects/object.js";
import type { ReportFinding } from "../../report/model.js";
import { looksLikeCredential } from "../../rules/secret-in-env-literal.js";
import { decodeRelease, labelledStatus, releasesOf } from "./helm.js";
import { finding, list } from "./shared.js";
import type { Check } from "./types.js";

/** How many values entries are looked at per release, so that a huge values tree stays cheap. */
const MAX_VALUES_ENTRIES = 10_000;
const MAX_VALUES_DEPTH = 32;

const PENDING = /^pending-/;

/**
 * A values key as the env-var patterns read it: camelCase split into words (`adminPassword` →
 * `admin_Password`), so that the same names match in Helm's camelCase values as in env vars.
 */
function asWords(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, "$1_$2");
}

/**
 * Whether a values key names a credential. Keys that start with `existing` (`existingSecret`, the
 * convention of Bitnami and others) name a Secret that holds the credential, which is the fix.
 */
export function credentialKey(key: string): boolean {
  return !/^existing/i.test(key) && looksLikeCredential(asWords(key));
}

function pathOf(parent: string, key: string): string {
  const segment = /^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key);
  return parent === "" ? segment : `${parent}.${segment}`;
}

/**
 * The key paths (`auth.password`, `db[0].token`) of user-supplied values whose key names a credential
 * and whose value is a literal (a non-empty string or a number). The values themselves never leave.
 */
export function credentialPaths(values: Record<string, unknown>): string[] {
  const found: string[] = [];
  let entries = 0;
  const visit = (node: unknown, path: string, depth: number): void => {
    if (depth > MAX_VALUES_DEPTH) return;
    if (Array.isArray(node)) {
      node.forEach((item, i) => {
        if (++entries <= MAX_VALUES_ENTRIES) visit(item, `${path}[${i}]`, depth + 1);
      });
      return;
    }
    if (!isRecord(node)) return;
    for (const [key, value] of Object.entries(node)) {
      if (++entries > MAX_VALUES_ENTRIES) return;
      const at = pathOf(path, key);
      const literal = (typeof value === "string" && value !== "") || typeof value === "number";
      if (literal && credentialKey(key)) found.push(at);
      else visit(value, at, depth + 1);
    }
  };
  visit(values, "", 0);
  return found;
}

export const helmReleaseHygiene: Check = {
  id: "helm-release-hygiene",
  title: "Helm releases are deployed, keep a bounded history and hold no literal credentials",
  category: "cluster",
  defaultSeverity: "warn",
  sources: ["audit"],
  description:
    'Read from Helm\'s release Secrets (type `helm.sh/release.v1`, named `sh.helm.release.v1.<release>.v<revision>`). A release whose last revision `failed` runs a half-applied chart; one left `pending-install`, `pending-upgrade` or `pending-rollback` by an interrupted helm blocks every later upgrade ("another operation is in progress"). A release keeping more revisions than `helmMaxRevisions` (default 10) fills etcd with copies of its manifests. User-supplied values whose key is named like a credential (the name patterns of `secret-in-env-literal`, camelCase split: `password`, `adminPassword`, `apiKey`, `auth.token`…; keys starting with `existing` name a Secret and are not counted) with a literal value are stored in every revision and shown by `helm get values`; the report names the key path, never the value. The release payload is decoded as Helm writes it (base64, gzip, JSON) with its inflated size bounded; a revision that cannot be decoded is noted.',
  remediation: `Roll a failed or stuck release back to its last good revision, then upgrade with a bounded history, and keep credentials in a Secret the chart references:

\`\`\`sh
helm history web -n shop
helm rollback web 3 -n shop
helm upgrade web ./chart -n shop --history-max 10 --set auth.existingSecret=web-credentials
kubectl create secret generic web-credentials -n shop --from-literal=password="$(openssl rand -base64 24)"
\`\`\`

Revisions beyond the bound go at the next \`helm upgrade --history-max\`, or by deleting the oldest
\`sh.helm.release.v1.<release>.v<N>\` Secrets.`,
  needs: ["Secret"],
  namespaceScoped: true,
  run(snapshot, { config, note }) {
    const findings: ReportFinding[] = [];
    const max = config.helmMaxRevisions;
    for (const [key, revisions] of releasesOf(list(snapshot, "Secret"))) {
      const last = revisions.at(-1)!;
      const ref = refOf(last.secret);
      const report = (path: string, message: string, fix: string) =>
        findings.push(finding(helmReleaseHygiene, ref, path, message, fix));
      const decoded = decodeRelease(last.secret);
      if ("error" in decoded)
        note(`cannot read Helm release Secret ${ref.namespace}/${ref.name}: ${decoded.error}`);
      const status = "error" in decoded ? labelledStatus(last.secret) : decoded.status;
      if (status === "failed") {
        report(
          "data.release",
          `Helm release ${key}: its last revision ${last.revision} failed`,
          `fix the release and run helm upgrade again, or helm rollback ${last.release} -n ${last.namespace}`,
        );
      } else if (status !== undefined && PENDING.test(status)) {
        report(
          "data.release",
          `Helm release ${key}: its last revision ${last.revision} is stuck in ${status}`,
          `helm rollback ${last.release} -n ${last.namespace} to its last deployed revision`,
        );
      }
      if (revisions.length > max) {
        report(
          "metadata.name",
          `Helm release ${key} keeps ${revisions.length} revisions, more than ${max} (helmMaxRevisions)`,
          `upgrade with --history-max ${max}, or delete its oldest release Secrets`,
        );
      }
      if ("error" in decoded) continue;
      for (const path of credentialPaths(decoded.config)) {
        report(
          "data.release",
          `Helm release ${key} sets the value ${path} to a literal credential`,
          "keep it in a Secret the chart references (an existingSecret value, where the chart has one)",
        );
      }
    }
    return findings;
  },
};
