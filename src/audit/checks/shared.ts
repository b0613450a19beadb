import type { RbacV1Subject as V1Subject } from "@kubernetes/client-node";
import type { Config } from "../../config/schema.js";
import type { KindName } from "../../objects/kinds.js";
import type { X509Certificate } from "node:crypto";
import { isRecord, type KubeObject, metadataMap, refOf } from "../../objects/object.js";
import { bundleCertificates } from "../../tls/rotation.js";
import type { ReportFinding } from "../../report/model.js";
import type { ClusterSnapshot } from "../snapshot.js";
import type { Check } from "./types.js";

/** How far ahead an expiring certificate is reported. */
export const EXPIRY_DAYS = 30;
export const DAY_MS = 86_400_000;
/** The type of the Secrets that hold a serving certificate and its key. */
export const TLS_SECRET_TYPE = "kubernetes.io/tls";

export type Target = Pick<ReportFinding, "kind" | "namespace" | "name">;

/** The target of findings about the cluster as a whole (no backups, an old server). */
export const CLUSTER: Target = { kind: "Cluster", namespace: "", name: "cluster" };

export function finding(
  check: Pick<Check, "id" | "defaultSeverity">,
  target: Target,
  path: string,
  message: string,
  fix: string,
): ReportFinding {
  return {
    rule: check.id,
    severity: check.defaultSeverity === "deny" ? "deny" : "warn",
    ...target,
    file: null,
    line: null,
    path,
    container: null,
    message,
    fix,
  };
}

export function list(snapshot: ClusterSnapshot, kind: KindName): KubeObject[] {
  return snapshot.objects[kind] ?? [];
}

/** An object's labels (strings, as the API serves them). */
export function labelsOf(object: KubeObject): Readonly<Record<string, string>> {
  return metadataMap(object, "labels") as Readonly<Record<string, string>>;
}

/** Namespaces the namespace checks judge: listed ones, less the excluded (system) namespaces. */
export function auditedNamespaces(snapshot: ClusterSnapshot, config: Config): KubeObject[] {
  return list(snapshot, "Namespace").filter((ns) => !config.excludedNamespaces.includes(refOf(ns).name));
}

function inNamespace(objects: KubeObject[], namespace: string): KubeObject[] {
  return objects.filter((o) => refOf(o).namespace === namespace);
}

/**
 * One finding per audited namespace that `gap` finds wanting, given the objects of `kind` in it:
 * the shape every namespace check shares.
 */
export function namespaceGaps(
  check: Pick<Check, "id" | "defaultSeverity">,
  snapshot: ClusterSnapshot,
  config: Config,
  kind: KindName,
  gap: (objects: KubeObject[], namespace: string) => { message: string; fix: string } | undefined,
): ReportFinding[] {
  const objects = list(snapshot, kind);
  return auditedNamespaces(snapshot, config).flatMap((ns) => {
    const name = refOf(ns).name;
    const wanting = gap(inNamespace(objects, name), name);
    return wanting
      ? [finding(check, { kind: "Namespace", namespace: "", name }, "", wanting.message, wanting.fix)]
      : [];
  });
}

/** The leaf (first) certificate of a kubernetes.io/tls Secret, when it holds a parseable one. */
export function tlsLeaf(secret: KubeObject): X509Certificate | undefined {
  if (secret.type !== TLS_SECRET_TYPE || !isRecord(secret.data)) return undefined;
  return bundleCertificates(decodeBase64(secret.data["tls.crt"]))[0];
}

export function decodeBase64(value: unknown): string {
  return typeof value === "string" ? Buffer.from(value, "base64").toString("utf8") : "";
}

function day(date: Date): string {
  return date.toISOString().slice(0, 10);
}

export function expiryMessage(what: string, notAfter: Date, now: Date): string {
  const days = Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS);
  return notAfter.getTime() <= now.getTime()
    ? `${what} expired on ${day(notAfter)}`
    : `${what} expires on ${day(notAfter)}, in ${days} day${days === 1 ? "" : "s"}`;
}

/** The control plane's own subjects (`system:*`) and ServiceAccounts of the excluded namespaces. */
export function isSystemSubject(subject: V1Subject, bindingNamespace: string, config: Config): boolean {
  if (subject.kind === "ServiceAccount") {
    return config.excludedNamespaces.includes(subject.namespace ?? bindingNamespace);
  }
  return subject.name.startsWith("system:");
}

export function subjectTarget(subject: V1Subject, bindingNamespace: string): Target {
  return subject.kind === "ServiceAccount"
    ? { kind: "ServiceAccount", namespace: subject.namespace ?? bindingNamespace, name: subject.name }
    : { kind: subject.kind, namespace: "", name: subject.name };
}

/** One finding per audited namespace that holds no object of `kind` (`article`: "a LimitRange"). */
export function namespacesWithout(
  check: Pick<Check, "id" | "defaultSeverity">,
  snapshot: ClusterSnapshot,
  config: Config,
  kind: KindName,
  article: string,
): ReportFinding[] {
  return namespaceGaps(check, snapshot, config, kind, (objects, name) =>
    objects.length > 0
      ? undefined
      : { message: `namespace ${name} has no ${kind}`, fix: `create ${article} in namespace ${name}` },
  );
}
