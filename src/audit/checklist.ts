import { X509Certificate } from "node:crypto";
import type {
  V1NetworkPolicy,
  V1PodDisruptionBudget,
  V1PolicyRule,
  V1RoleBinding,
  RbacV1Subject as V1Subject,
} from "@kubernetes/client-node";
import type { Config } from "../config/schema.js";
import type { ReportFinding, RuleDescriptor } from "../report/model.js";
import { isDefaultDeny, policyTypes, selectorMatches } from "../k8s/selectors.js";
import type { ClusterSnapshot } from "./snapshot.js";
import { BINDING_KINDS, type KindName, REPLICATED_KINDS, ROLE_KINDS } from "../objects/kinds.js";
import { controllerOf, isRecord, type KubeObject, metadataOf, refOf, replicasOf } from "../objects/object.js";

/**
 * The newest Kubernetes minor release tollgate knows of (v1.37: the end-to-end tests run v1.37.2).
 * A server newer than this counts as the newest; bump it with each Kubernetes release.
 */
export const NEWEST_KUBERNETES_MINOR = 37;
/** Kubernetes supports the three newest minor releases. */
const SUPPORTED_MINORS = 3;
const EXPIRY_DAYS = 30;
const DAY_MS = 86_400_000;

export interface ChecklistOptions {
  now: Date;
  config: Config;
  newestMinor?: number;
}

interface ChecklistItem extends RuleDescriptor {
  /** The kinds the item reads; when one could not be listed the item is skipped with a note. */
  needs: readonly KindName[];
  /** A rule that reports the same thing on the same object; its finding wins over the item's. */
  coveredBy?: string;
  /** Kinds served by CRDs whose absence is itself the answer (no Velero means no Velero schedule). */
  optional?: readonly KindName[];
  /** Whether the item makes sense when the audit is limited to one namespace. */
  namespaceScoped: boolean;
  run(snapshot: ClusterSnapshot, options: Required<ChecklistOptions>): ReportFinding[];
}

type Target = Pick<ReportFinding, "kind" | "namespace" | "name">;

function finding(
  item: Pick<ChecklistItem, "id" | "defaultSeverity">,
  target: Target,
  path: string,
  message: string,
  fix: string,
): ReportFinding {
  return {
    rule: item.id,
    severity: item.defaultSeverity === "deny" ? "deny" : "warn",
    ...target,
    file: null,
    line: null,
    path,
    container: null,
    message,
    fix,
  };
}

const CLUSTER: Target = { kind: "Cluster", namespace: "", name: "cluster" };

function list(snapshot: ClusterSnapshot, kind: KindName): KubeObject[] {
  return snapshot.objects[kind] ?? [];
}

function labelsOf(object: KubeObject): Record<string, string> {
  const labels = metadataOf(object).labels;
  return isRecord(labels) ? (labels as Record<string, string>) : {};
}

/** Namespaces the namespace items judge: listed ones, less the excluded (system) namespaces. */
function auditedNamespaces(snapshot: ClusterSnapshot, config: Config): KubeObject[] {
  return list(snapshot, "Namespace").filter((ns) => !config.excludedNamespaces.includes(refOf(ns).name));
}

function inNamespace(objects: KubeObject[], namespace: string): KubeObject[] {
  return objects.filter((o) => refOf(o).namespace === namespace);
}

/**
 * One finding per audited namespace that `gap` finds wanting, given the objects of `kind` in it:
 * the shape every namespace item of the checklist shares.
 */
function namespaceGaps(
  item: Pick<ChecklistItem, "id" | "defaultSeverity">,
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
      ? [finding(item, { kind: "Namespace", namespace: "", name }, "", wanting.message, wanting.fix)]
      : [];
  });
}

function allowsDns(policy: V1NetworkPolicy): boolean {
  if (!policyTypes(policy).includes("Egress")) return false;
  return (policy.spec?.egress ?? []).some((rule) => {
    if (!rule.ports || rule.ports.length === 0) return true;
    return rule.ports.some(
      (port) =>
        (port.protocol === undefined || port.protocol === "UDP" || port.protocol === "TCP") &&
        (port.port === undefined || port.port === 53 || port.port === "53" || port.port === "dns"),
    );
  });
}

function certificatesOf(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const certificates: X509Certificate[] = [];
  for (const block of blocks) {
    try {
      certificates.push(new X509Certificate(block));
    } catch {
      // A malformed block is not a certificate that can expire; the others still count.
    }
  }
  return certificates;
}

function decodeBase64(value: unknown): string {
  return typeof value === "string" ? Buffer.from(value, "base64").toString("utf8") : "";
}

function day(date: Date): string {
  return date.toISOString().slice(0, 10);
}

function expiryMessage(what: string, notAfter: Date, now: Date): string {
  const days = Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS);
  return notAfter.getTime() <= now.getTime()
    ? `${what} expired on ${day(notAfter)}`
    : `${what} expires on ${day(notAfter)}, in ${days} day${days === 1 ? "" : "s"}`;
}

const READ_VERBS = new Set(["get", "list", "watch", "*"]);

/**
 * Does a rule let its subject read any Secret? A rule limited by `resourceNames` reads only the
 * Secrets it names: the least privilege the item's fix (and rule rbac-secrets-access) asks for.
 */
function grantsSecretRead(rule: V1PolicyRule): boolean {
  const groups = rule.apiGroups ?? [];
  const resources = rule.resources ?? [];
  const names = rule.resourceNames ?? [];
  return (
    (names.length === 0 || names.includes("*")) &&
    (groups.includes("") || groups.includes("*")) &&
    (resources.includes("secrets") || resources.includes("*")) &&
    (rule.verbs ?? []).some((verb) => READ_VERBS.has(verb))
  );
}

function isSystemSubject(subject: V1Subject, bindingNamespace: string, config: Config): boolean {
  if (subject.kind === "ServiceAccount") {
    return config.excludedNamespaces.includes(subject.namespace ?? bindingNamespace);
  }
  return subject.name.startsWith("system:");
}

function subjectTarget(subject: V1Subject, bindingNamespace: string): Target {
  return subject.kind === "ServiceAccount"
    ? { kind: "ServiceAccount", namespace: subject.namespace ?? bindingNamespace, name: subject.name }
    : { kind: subject.kind, namespace: "", name: subject.name };
}

export const CHECKLIST: readonly ChecklistItem[] = [
  {
    id: "cluster-admin-binding",
    title: "cluster-admin is bound only to system subjects",
    category: "cluster",
    defaultSeverity: "deny",
    description:
      "A binding to the cluster-admin ClusterRole gives its subject every permission on every resource. Only the control plane's own subjects (system:*) should hold it; people and CI get narrower roles.",
    remediation:
      "Bind a narrower ClusterRole, or a Role in the namespaces the subject works in, and delete the binding.",
    // Cluster-wide bindings first: the note that says what could not be read names them in this order.
    needs: ["ClusterRoleBinding", "RoleBinding"],
    coveredBy: "rbac-cluster-admin-binding",
    namespaceScoped: false,
    run(snapshot, { config }) {
      const findings: ReportFinding[] = [];
      for (const binding of [...list(snapshot, "ClusterRoleBinding"), ...list(snapshot, "RoleBinding")]) {
        const b = binding as unknown as V1RoleBinding;
        if (b.roleRef?.kind !== "ClusterRole" || b.roleRef.name !== "cluster-admin") continue;
        const ref = refOf(binding);
        (b.subjects ?? []).forEach((subject, index) => {
          if (isSystemSubject(subject, ref.namespace, config)) return;
          const who = `${subject.kind} ${subject.namespace ? `${subject.namespace}/` : ""}${subject.name}`;
          findings.push(
            finding(
              this,
              ref,
              `subjects[${index}]`,
              `${ref.kind} ${ref.name} grants cluster-admin to ${who}`,
              `bind a narrower role to ${who} and delete ${ref.kind} ${ref.name}`,
            ),
          );
        });
      }
      return findings;
    },
  },
  {
    id: "namespace-default-deny-missing",
    title: "Namespaces have a default-deny NetworkPolicy",
    category: "cluster",
    defaultSeverity: "warn",
    description:
      "Without a NetworkPolicy that selects every Pod and allows no ingress, every Pod of the namespace accepts traffic from anywhere in the cluster.",
    remediation:
      "```yaml\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: default-deny\nspec:\n  podSelector: {}\n  policyTypes: [Ingress, Egress]\n```",
    needs: ["Namespace", "NetworkPolicy"],
    namespaceScoped: true,
    run(snapshot, { config }) {
      return namespaceGaps(this, snapshot, config, "NetworkPolicy", (objects, name) =>
        (objects as unknown as V1NetworkPolicy[]).some((p) => isDefaultDeny(p, "Ingress"))
          ? undefined
          : {
              message: `namespace ${name} has no default-deny ingress NetworkPolicy`,
              fix: `add a NetworkPolicy with podSelector: {} and policyTypes [Ingress, Egress] to ${name}`,
            },
      );
    },
  },
  {
    id: "namespace-dns-egress-missing",
    title: "Namespaces that deny egress allow DNS",
    category: "cluster",
    defaultSeverity: "warn",
    description:
      "A default-deny egress policy without a rule that allows port 53 breaks name resolution for every Pod of the namespace.",
    remediation:
      "```yaml\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: allow-dns\nspec:\n  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n    - ports:\n        - {protocol: UDP, port: 53}\n        - {protocol: TCP, port: 53}\n```",
    needs: ["Namespace", "NetworkPolicy"],
    namespaceScoped: true,
    run(snapshot, { config }) {
      return namespaceGaps(this, snapshot, config, "NetworkPolicy", (objects, name) => {
        const here = objects as unknown as V1NetworkPolicy[];
        if (!here.some((p) => isDefaultDeny(p, "Egress")) || here.some(allowsDns)) return undefined;
        return {
          message: `namespace ${name} denies all egress but no NetworkPolicy allows DNS (port 53)`,
          fix: `add a NetworkPolicy to ${name} that allows egress to port 53 (UDP and TCP)`,
        };
      });
    },
  },
  ...(
    [
      ["LimitRange", "namespace-limitrange-missing", "a LimitRange", "default requests and limits"],
      ["ResourceQuota", "namespace-resourcequota-missing", "a ResourceQuota", "a cap on what it may consume"],
    ] as const
  ).map(([kind, id, article, purpose]): ChecklistItem => ({
    id,
    title: `Namespaces have ${article}`,
    category: "cluster",
    defaultSeverity: "warn",
    description: `A namespace without ${article} has no ${purpose}; one team's workload can starve the others.`,
    remediation: `Create ${article} in each application namespace.`,
    needs: ["Namespace", kind],
    namespaceScoped: true,
    run(snapshot, { config }) {
      return namespaceGaps(this, snapshot, config, kind, (objects, name) =>
        objects.length > 0
          ? undefined
          : { message: `namespace ${name} has no ${kind}`, fix: `create ${article} in namespace ${name}` },
      );
    },
  })),
  {
    id: "namespace-pss-enforce-missing",
    title: "Namespaces enforce a Pod Security level",
    category: "cluster",
    defaultSeverity: "warn",
    description:
      "Without the pod-security.kubernetes.io/enforce label, Pod Security Admission enforces nothing in the namespace.",
    remediation: "```yaml\nmetadata:\n  labels:\n    pod-security.kubernetes.io/enforce: restricted\n```",
    needs: ["Namespace"],
    coveredBy: "namespace-pss-label-missing",
    namespaceScoped: true,
    run(snapshot, { config }) {
      return auditedNamespaces(snapshot, config).flatMap((ns) => {
        const name = refOf(ns).name;
        if (labelsOf(ns)["pod-security.kubernetes.io/enforce"]) return [];
        return [
          finding(
            this,
            { kind: "Namespace", namespace: "", name },
            "metadata.labels",
            `namespace ${name} has no pod-security.kubernetes.io/enforce label`,
            `kubectl label namespace ${name} pod-security.kubernetes.io/enforce=restricted`,
          ),
        ];
      });
    },
  },
  {
    id: "workload-pdb-missing",
    title: "Workloads with 2+ replicas have a PodDisruptionBudget",
    category: "cluster",
    defaultSeverity: "warn",
    description:
      "A node drain may evict every replica of a workload at once unless a PodDisruptionBudget selects its Pods.",
    remediation:
      "```yaml\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: web\nspec:\n  maxUnavailable: 1\n  selector:\n    matchLabels:\n      app: web\n```",
    needs: [...REPLICATED_KINDS, "PodDisruptionBudget"],
    coveredBy: "pdb-missing",
    namespaceScoped: true,
    run(snapshot, { config }) {
      const budgets = list(snapshot, "PodDisruptionBudget") as unknown as V1PodDisruptionBudget[];
      const findings: ReportFinding[] = [];
      for (const kind of REPLICATED_KINDS) {
        for (const workload of list(snapshot, kind)) {
          const ref = refOf(workload);
          if (config.excludedNamespaces.includes(ref.namespace)) continue;
          if (kind === "ReplicaSet" && metadataOf(workload).ownerReferences?.some((o) => o.controller))
            continue;
          const replicas = replicasOf(workload) ?? 1;
          if (replicas < 2) continue;
          const spec = isRecord(workload.spec) ? workload.spec : {};
          const template = isRecord(spec.template) ? spec.template : {};
          const podLabels = labelsOf(template);
          const covered = budgets.some(
            (pdb) =>
              (pdb.metadata?.namespace ?? "") === ref.namespace &&
              selectorMatches(pdb.spec?.selector, podLabels),
          );
          if (covered) continue;
          findings.push(
            finding(
              this,
              ref,
              "spec.replicas",
              `${kind} ${ref.name} runs ${replicas} replicas and no PodDisruptionBudget selects its Pods`,
              `add a PodDisruptionBudget with maxUnavailable: 1 selecting the Pods of ${ref.name}`,
            ),
          );
        }
      }
      return findings;
    },
  },
  {
    id: "secrets-readers",
    title: "Who can read Secrets",
    category: "cluster",
    defaultSeverity: "warn",
    description:
      "Reading a Secret reveals its credentials. Every subject outside the system namespaces that can get, list or watch Secrets is listed, with the bindings that grant it, so that the list can be reviewed. A grant limited by resourceNames to the Secrets it names is the least privilege, and is not listed.",
    remediation:
      "Narrow the roles to the Secrets the subject needs (`resourceNames`), or let it read them through a mounted volume instead of the API.",
    needs: [...ROLE_KINDS, ...BINDING_KINDS],
    namespaceScoped: false,
    run(snapshot, { config }) {
      const roles = new Map<string, V1PolicyRule[]>();
      for (const role of list(snapshot, "Role")) {
        const ref = refOf(role);
        roles.set(`Role/${ref.namespace}/${ref.name}`, (role.rules as V1PolicyRule[] | undefined) ?? []);
      }
      for (const role of list(snapshot, "ClusterRole")) {
        roles.set(`ClusterRole//${refOf(role).name}`, (role.rules as V1PolicyRule[] | undefined) ?? []);
      }
      const grants = new Map<string, { target: Target; via: string[] }>();
      for (const binding of [...list(snapshot, "ClusterRoleBinding"), ...list(snapshot, "RoleBinding")]) {
        const b = binding as unknown as V1RoleBinding;
        const ref = refOf(binding);
        const roleNamespace = b.roleRef?.kind === "Role" ? ref.namespace : "";
        const rules = roles.get(`${b.roleRef?.kind}/${roleNamespace}/${b.roleRef?.name}`) ?? [];
        if (!rules.some(grantsSecretRead)) continue;
        const scope = ref.kind === "ClusterRoleBinding" ? "cluster-wide" : `in ${ref.namespace}`;
        for (const subject of b.subjects ?? []) {
          if (isSystemSubject(subject, ref.namespace, config)) continue;
          const target = subjectTarget(subject, ref.namespace);
          const key = `${target.kind}/${target.namespace}/${target.name}`;
          const entry = grants.get(key) ?? { target, via: [] };
          entry.via.push(`${scope} via ${ref.kind} ${ref.name} (${b.roleRef.kind} ${b.roleRef.name})`);
          grants.set(key, entry);
        }
      }
      return [...grants.values()].map(({ target, via }) =>
        finding(
          this,
          target,
          "",
          `${target.kind} ${target.namespace ? `${target.namespace}/` : ""}${target.name} can read Secrets ${via.join("; ")}`,
          "review the grant; limit it with resourceNames or remove the binding",
        ),
      );
    },
  },
  {
    id: "backup-schedule-missing",
    title: "Backups are scheduled",
    category: "cluster",
    defaultSeverity: "warn",
    description:
      "A cluster without a scheduled backup (a Velero Schedule, or a CronJob that snapshots etcd) cannot be restored after a failed upgrade or a deleted namespace.",
    remediation:
      "Install Velero and create a Schedule (`velero schedule create daily --schedule='0 3 * * *'`).",
    needs: ["CronJob"],
    optional: ["Schedule"],
    namespaceScoped: false,
    run(snapshot) {
      if (list(snapshot, "Schedule").length > 0) return [];
      const etcdBackup = list(snapshot, "CronJob").some((job) => {
        const text = JSON.stringify([refOf(job).name, job.spec ?? {}]);
        return /etcd/i.test(text) && /backup|snapshot/i.test(text);
      });
      if (etcdBackup) return [];
      const velero =
        snapshot.unavailable.Schedule === "not served"
          ? "Velero is not installed (velero.io/v1 Schedule is not served)"
          : "no Velero Schedule exists";
      return [
        finding(
          this,
          CLUSTER,
          "",
          `no backup is scheduled: ${velero} and no CronJob backs up etcd`,
          "install Velero and create a Schedule, or run an etcd snapshot CronJob",
        ),
      ];
    },
  },
  {
    id: "monitoring-missing",
    title: "The cluster is monitored",
    category: "cluster",
    defaultSeverity: "warn",
    description:
      "Without the Prometheus operator (or kube-prometheus-stack) nothing scrapes the workloads' metrics or alerts on them.",
    remediation:
      "Install kube-prometheus-stack (`helm install monitoring prometheus-community/kube-prometheus-stack`).",
    needs: ["Deployment"],
    optional: ["Prometheus"],
    namespaceScoped: false,
    run(snapshot) {
      if (list(snapshot, "Prometheus").length > 0) return [];
      const operator = list(snapshot, "Deployment").some((deployment) =>
        /prometheus-operator|kube-prometheus/.test(
          JSON.stringify([refOf(deployment).name, labelsOf(deployment), deployment.spec ?? {}]),
        ),
      );
      if (operator) return [];
      const crd =
        snapshot.unavailable.Prometheus === "not served"
          ? "monitoring.coreos.com/v1 Prometheus is not served"
          : "no Prometheus resource exists";
      return [
        finding(
          this,
          CLUSTER,
          "",
          `no Prometheus operator found: ${crd} and no prometheus-operator Deployment runs`,
          "install kube-prometheus-stack or the Prometheus operator",
        ),
      ];
    },
  },
  {
    id: "tls-secret-expiring",
    title: "TLS certificates are not about to expire",
    category: "cluster",
    defaultSeverity: "warn",
    description: `A kubernetes.io/tls Secret whose certificate expires within ${EXPIRY_DAYS} days breaks the Ingress or service that serves it.`,
    remediation: "Renew the certificate (cert-manager renews automatically when it manages the Secret).",
    needs: ["Secret"],
    namespaceScoped: true,
    run(snapshot, { now }) {
      const findings: ReportFinding[] = [];
      for (const secret of list(snapshot, "Secret")) {
        if (secret.type !== "kubernetes.io/tls" || !isRecord(secret.data)) continue;
        const [leaf] = certificatesOf(decodeBase64(secret.data["tls.crt"]));
        if (!leaf) continue;
        const notAfter = new Date(leaf.validTo);
        if (notAfter.getTime() - now.getTime() > EXPIRY_DAYS * DAY_MS) continue;
        const ref = refOf(secret);
        findings.push(
          finding(
            this,
            ref,
            "data.tls.crt",
            expiryMessage(`the certificate in Secret ${ref.namespace}/${ref.name}`, notAfter, now),
            "renew the certificate and update the Secret",
          ),
        );
      }
      return findings;
    },
  },
  {
    id: "server-version-unsupported",
    title: "The cluster runs a supported Kubernetes release",
    category: "cluster",
    defaultSeverity: "warn",
    description: `Kubernetes patches the ${SUPPORTED_MINORS} newest minor releases; an older server gets no security fixes.`,
    remediation: "Upgrade the control plane one minor release at a time, then the nodes.",
    needs: [],
    namespaceScoped: false,
    run(snapshot, { newestMinor }) {
      const version = snapshot.version;
      if (!version) return [];
      const minor = Number.parseInt(version.minor, 10);
      if (version.major !== "1" || !Number.isInteger(minor)) return [];
      const newest = Math.max(newestMinor, minor);
      const oldest = newest - SUPPORTED_MINORS + 1;
      if (minor >= oldest) return [];
      return [
        finding(
          this,
          CLUSTER,
          "",
          `the server runs Kubernetes ${version.gitVersion}, outside the supported releases 1.${oldest} to 1.${newest}`,
          `upgrade the cluster to 1.${oldest} or newer`,
        ),
      ];
    },
  },
  {
    id: "tollgate-webhook-missing",
    title: "tollgate's webhook is registered",
    category: "cluster",
    defaultSeverity: "warn",
    description:
      "Without its ValidatingWebhookConfiguration the apiserver never asks tollgate, and nothing is checked at admission.",
    remediation: "`tollgate manifests | kubectl apply -f -`",
    needs: ["ValidatingWebhookConfiguration"],
    namespaceScoped: false,
    run(snapshot, { config }) {
      const name = config.webhook.name;
      if (list(snapshot, "ValidatingWebhookConfiguration").some((w) => refOf(w).name === name)) return [];
      return [
        finding(
          this,
          { kind: "ValidatingWebhookConfiguration", namespace: "", name },
          "",
          `the ValidatingWebhookConfiguration ${name} does not exist: admission is not checked`,
          "install tollgate: tollgate manifests | kubectl apply -f -",
        ),
      ];
    },
  },
  {
    id: "tollgate-webhook-cert-expiring",
    title: "tollgate's webhook certificate is not about to expire",
    category: "cluster",
    defaultSeverity: "warn",
    description: `When every CA in the webhook's caBundle expires, the apiserver cannot call tollgate and, with failurePolicy Fail, admission stops. Reported ${EXPIRY_DAYS} days ahead.`,
    remediation: "`tollgate certs rotate`",
    needs: ["ValidatingWebhookConfiguration"],
    namespaceScoped: false,
    run(snapshot, { config, now }) {
      const name = config.webhook.name;
      const configuration = list(snapshot, "ValidatingWebhookConfiguration").find(
        (w) => refOf(w).name === name,
      );
      if (!configuration || !Array.isArray(configuration.webhooks)) return [];
      const findings: ReportFinding[] = [];
      configuration.webhooks.forEach((webhook: unknown, index) => {
        if (!isRecord(webhook) || !isRecord(webhook.clientConfig)) return;
        const certificates = certificatesOf(decodeBase64(webhook.clientConfig.caBundle));
        const path = `webhooks[${index}].clientConfig.caBundle`;
        const entry = typeof webhook.name === "string" ? webhook.name : `#${index}`;
        if (certificates.length === 0) {
          findings.push(
            finding(
              this,
              refOf(configuration),
              path,
              `webhook ${entry} has no CA certificate in its caBundle`,
              "tollgate certs bootstrap",
            ),
          );
          return;
        }
        const last = Math.max(...certificates.map((c) => new Date(c.validTo).getTime()));
        if (last - now.getTime() > EXPIRY_DAYS * DAY_MS) return;
        findings.push(
          finding(
            this,
            refOf(configuration),
            path,
            expiryMessage(`the CA of webhook ${entry}`, new Date(last), now),
            "tollgate certs rotate",
          ),
        );
      });
      return findings;
    },
  },
];

export interface ChecklistResult {
  findings: ReportFinding[];
  notes: string[];
}

/**
 * Run every checklist item over a snapshot. Pure: the clock and the config come in as options.
 * An item whose inputs could not be listed is skipped, and a note says which and why.
 */
export function runChecklist(snapshot: ClusterSnapshot, options: ChecklistOptions): ChecklistResult {
  const resolved: Required<ChecklistOptions> = { newestMinor: NEWEST_KUBERNETES_MINOR, ...options };
  const findings: ReportFinding[] = [];
  const notes: string[] = [];
  for (const item of CHECKLIST) {
    if (snapshot.namespace !== undefined && !item.namespaceScoped) {
      notes.push(`${item.id}: skipped, it needs the whole cluster (audit without --namespace)`);
      continue;
    }
    const missing = item.needs.filter((kind) => snapshot.unavailable[kind] !== undefined);
    if (missing.length > 0) {
      const why = missing.map((kind) => `${kind} (${snapshot.unavailable[kind]})`).join(", ");
      notes.push(`${item.id}: skipped, cannot read ${why}`);
      continue;
    }
    const forbidden = (item.optional ?? []).filter((kind) => snapshot.unavailable[kind] === "forbidden");
    if (forbidden.length > 0) {
      notes.push(`${item.id}: skipped, cannot read ${forbidden.map((k) => `${k} (forbidden)`).join(", ")}`);
      continue;
    }
    findings.push(...item.run(snapshot, resolved));
  }
  return { findings, notes };
}

/** Drop checklist findings that a rule already reported on the same object. */
export function withoutCovered(checklist: readonly ReportFinding[], ruleFindings: readonly ReportFinding[]) {
  const reported = new Set(ruleFindings.map((f) => `${f.rule}|${f.kind}|${f.namespace}|${f.name}`));
  const coveredBy = new Map(CHECKLIST.filter((i) => i.coveredBy).map((i) => [i.id, i.coveredBy!]));
  return checklist.filter((f) => {
    const rule = coveredBy.get(f.rule);
    return rule === undefined || !reported.has(`${rule}|${f.kind}|${f.namespace}|${f.name}`);
  });
}

/** Objects owned by a workload whose template is judged (a Deployment's ReplicaSets, a CronJob's Jobs). */
export function isOwnedWorkload(object: KubeObject): boolean {
  return controllerOf(object) !== undefined;
}
