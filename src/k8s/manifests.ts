import type {
  KubernetesObject,
  V1ClusterRole,
  V1ClusterRoleBinding,
  V1ConfigMap,
  V1Deployment,
  V1Namespace,
  V1NetworkPolicy,
  V1PodDisruptionBudget,
  V1Role,
  V1RoleBinding,
  V1Secret,
  V1Service,
  V1ServiceAccount,
  V1NamedRuleWithOperations,
  V1ValidatingWebhookConfiguration,
} from "@kubernetes/client-node";
import { basename } from "node:path";
import { dump } from "js-yaml";
import { DEFAULT_CONFIG, SYSTEM_NAMESPACES } from "../config/load.js";
import type { Config, PodTemplateConfig } from "../config/schema.js";
import { CERT_SECRET_NAME } from "./certSecret.js";
import { buildWebhookConfiguration, podTemplateWebhookRules } from "./webhookConfig.js";
import { MODE_LABEL } from "../objects/labels.js";
import { type KindName, KINDS } from "../objects/kinds.js";
import { REPORT_GROUP } from "../audit/policyReport.js";
import { policyReportCrds } from "./policyReportCrds.js";
import { AUDIT_LEASE_NAME } from "../audit/lease.js";

/** The image `tollgate manifests` points at unless told; its tag follows package.json. */
export const DEFAULT_IMAGE = "ghcr.io/tollgate-dev/tollgate:0.1.0";
export const DEFAULT_NAMESPACE = "tollgate";

const NAME = "tollgate";
/** The ConfigMap the Deployment mounts, and the key that holds the config file in it. */
export const CONFIG_MAP_NAME = "tollgate-config";
export const CONFIG_KEY = "config.yaml";
/**
 * The ConfigMap of ValidatingAdmissionPolicy files, shipped empty and mounted at POLICIES_MOUNT: an
 * overlay (or the chart's `policyFiles`) fills it, and the config names the folder in `policies:`.
 * A volume of its own, not keys of the config's ConfigMap, so that a policy team can own it; tollgate
 * reloads when either changes (src/config/watch.ts).
 */
export const POLICIES_CONFIG_MAP_NAME = "tollgate-policies";
export const POLICIES_MOUNT = "/etc/tollgate-policies";
/** Where the kustomize base keeps the policy files of `--policy`. */
const BASE_POLICIES_FOLDER = "policies";
/** A ConfigMap holds at most 1 MiB in all (the apiserver's limit); keep room for its metadata. */
export const MAX_POLICY_FILES_BYTES = 1024 * 1024 - 16 * 1024;
const CONFIG_MAP_KEY = /^[-._a-zA-Z0-9]{1,253}$/;

/**
 * The files of ConfigMap tollgate-policies, keyed by file name: an error names what cannot be a key
 * (a name used twice, a character a key cannot hold) or makes the ConfigMap too large.
 */
export function policyConfigMapFiles(files: readonly { path: string; content: string }[]): PolicyFile[] {
  const byName = new Map<string, { path: string; content: string }>();
  let bytes = 0;
  for (const file of files) {
    const name = basename(file.path);
    if (!CONFIG_MAP_KEY.test(name) || name === "." || name === "..")
      throw new Error(
        `${file.path}: the file name cannot be a ConfigMap key (letters, digits, '-', '_', '.'); rename it`,
      );
    const other = byName.get(name);
    if (other !== undefined)
      throw new Error(
        `${file.path} and ${other.path} have the same file name, which the ConfigMap holds once; rename one`,
      );
    byName.set(name, file);
    bytes += Buffer.byteLength(name) + Buffer.byteLength(file.content);
  }
  if (bytes > MAX_POLICY_FILES_BYTES)
    throw new Error(
      `the policy files hold ${bytes} bytes, more than a ConfigMap takes (${MAX_POLICY_FILES_BYTES}); ship them in a volume of your own`,
    );
  return [...byName]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, file]) => ({ name, content: file.content }));
}
/** The file of the kustomize base that the ConfigMap is generated from. */
export const BASE_CONFIG_FILE = "tollgate.yaml";
const HTTPS_PORT = 8443;
const METRICS_PORT = 9090;
const CONFIG_MOUNT = "/etc/tollgate";
/** Where client-node's in-cluster config reads the token, CA and namespace. */
const TOKEN_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount";

export interface InstallOptions {
  namespace?: string;
  image?: string;
  /**
   * Where the apiserver calls from. When given, only these CIDRs may reach the webhook port;
   * when absent, every source may (see the NetworkPolicy below).
   */
  apiserverCidrs?: readonly string[];
  /** The resource rules of the ValidatingAdmissionPolicies tollgate will run: their resources are sent to it too. */
  policyRules?: readonly V1NamedRuleWithOperations[];
  /**
   * Their files, shipped in the ConfigMap tollgate-policies (keys are the file names, checked by
   * `policyConfigMapFiles`); the config then names POLICIES_MOUNT in `policies:`.
   */
  policyFiles?: readonly PolicyFile[];
}

/** A policy file as the ConfigMap tollgate-policies holds it. */
export interface PolicyFile {
  name: string;
  content: string;
}

/**
 * The config tollgate is installed with: the defaults, with its own namespace excluded and named,
 * in `warn` mode. A first install only warns (namespaces switch to enforce one by one with the
 * `tollgate.dev/mode` label, or all at once with `defaultMode`): it should show what it would
 * block before it blocks anything.
 */
export function installConfig(namespace: string, withPolicies = false): Config {
  return {
    ...DEFAULT_CONFIG,
    defaultMode: "warn",
    excludedNamespaces: [...SYSTEM_NAMESPACES, namespace],
    webhook: { ...DEFAULT_CONFIG.webhook, namespace, service: NAME },
    policies: withPolicies ? [POLICIES_MOUNT] : [],
  };
}

/**
 * The ValidatingWebhookConfiguration as shipped: fail-open (`Ignore`) and without a caBundle, so that
 * applying it while no tollgate runs (no image yet, a crash loop, a cluster without nodes) blocks
 * nothing. It is shipped all the same, rather than created by tollgate, so that `kubectl delete -k`,
 * `helm uninstall` and GitOps tools own and remove it. A replica that serves and is ready registers
 * itself: it sets the caBundle and the config's failurePolicy (default Fail) in one patch, and puts
 * them back within a minute when a re-apply resets them to these values.
 */
export function shippedWebhookConfiguration(
  config: Config,
  policyRules: readonly V1NamedRuleWithOperations[] = [],
): V1ValidatingWebhookConfiguration {
  return buildWebhookConfiguration(
    { ...config, webhook: { ...config.webhook, failurePolicy: "Ignore" } },
    { policyRules },
  );
}

/**
 * Everything a cluster needs to run tollgate, in apply order. The webhook configuration comes last,
 * fail-open and without a caBundle (`shippedWebhookConfiguration`); the first replica to be ready
 * registers in it (and can only patch, not create, it).
 */
export function installManifests(options: InstallOptions = {}): KubernetesObject[] {
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  const image = options.image ?? DEFAULT_IMAGE;
  const policyFiles = options.policyFiles ?? [];
  const config = installConfig(namespace, policyFiles.length > 0);
  const labels = { "app.kubernetes.io/name": NAME };
  const meta = (name: string) => ({ name, namespace, labels });

  const ns: V1Namespace = {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      name: namespace,
      labels: {
        ...labels,
        // Excluded by name anyway; the label says so to whoever reads the namespace.
        [MODE_LABEL]: "off",
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/audit": "restricted",
      },
    },
  };

  const serviceAccount: V1ServiceAccount = {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: meta(NAME),
    // The Pod mounts a short-lived projected token explicitly instead.
    automountServiceAccountToken: false,
  };

  // Created empty so that tollgate needs no `create` on Secrets (RBAC cannot limit create by name).
  const secret: V1Secret = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: meta(CERT_SECRET_NAME),
    type: "Opaque",
  };

  const configMap: V1ConfigMap = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: meta(CONFIG_MAP_NAME),
    data: { [CONFIG_KEY]: dump(config, DUMP_OPTIONS) },
  };
  const policiesMap: V1ConfigMap = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: meta(POLICIES_CONFIG_MAP_NAME),
    ...(policyFiles.length > 0
      ? { data: Object.fromEntries(policyFiles.map((file) => [file.name, file.content])) }
      : {}),
  };

  const role: V1Role = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: meta(NAME),
    rules: [
      {
        apiGroups: [""],
        resources: ["secrets"],
        resourceNames: [CERT_SECRET_NAME],
        verbs: ["get", "update"],
      },
      // The continuous audit's leader election (RBAC cannot limit create by name).
      { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
      {
        apiGroups: ["coordination.k8s.io"],
        resources: ["leases"],
        resourceNames: [AUDIT_LEASE_NAME],
        verbs: ["get", "update"],
      },
    ],
  };
  const roleBinding: V1RoleBinding = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: meta(NAME),
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: NAME },
    subjects: [{ kind: "ServiceAccount", name: NAME, namespace }],
  };
  const clusterRole: V1ClusterRole = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name: NAME, labels },
    rules: [
      {
        apiGroups: ["admissionregistration.k8s.io"],
        resources: ["validatingwebhookconfigurations"],
        resourceNames: [config.webhook.name],
        verbs: ["get", "patch"],
      },
      // The continuous audit watches every kind the rules and the checklist read, but Secrets.
      ...scannedResourceRules(),
      // The custom resources of config.podTemplates (none in the install's config; the chart's values add them).
      ...podTemplateReadRules(config.podTemplates),
      {
        apiGroups: [REPORT_GROUP],
        resources: ["policyreports", "clusterpolicyreports"],
        verbs: ["list", "create", "patch"],
      },
    ],
  };
  const clusterRoleBinding: V1ClusterRoleBinding = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: NAME, labels },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: NAME },
    subjects: [{ kind: "ServiceAccount", name: NAME, namespace }],
  };

  const service: V1Service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta(config.webhook.service),
    spec: {
      selector: labels,
      ports: [
        { name: "https", port: config.webhook.port, targetPort: "https", protocol: "TCP" },
        { name: "metrics", port: METRICS_PORT, targetPort: "metrics", protocol: "TCP" },
      ],
    },
  };

  const deployment: V1Deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: meta(NAME),
    spec: {
      replicas: 2,
      revisionHistoryLimit: 5,
      selector: { matchLabels: labels },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: NAME,
          // Under `failurePolicy: Fail` a missing tollgate blocks what it covers: it must not be the
          // Pod the scheduler evicts to make room when a node is full.
          priorityClassName: "system-cluster-critical",
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 65532,
            runAsGroup: 65532,
            seccompProfile: { type: "RuntimeDefault" },
          },
          // Spread across nodes and zones; best effort, so a one-node cluster still runs both replicas.
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: "kubernetes.io/hostname",
              whenUnsatisfiable: "ScheduleAnyway",
              labelSelector: { matchLabels: labels },
            },
            {
              maxSkew: 1,
              topologyKey: "topology.kubernetes.io/zone",
              whenUnsatisfiable: "ScheduleAnyway",
              labelSelector: { matchLabels: labels },
            },
          ],
          terminationGracePeriodSeconds: 30,
          containers: [
            {
              name: NAME,
              image,
              imagePullPolicy: "IfNotPresent",
              args: [
                "--config",
                `${CONFIG_MOUNT}/${CONFIG_KEY}`,
                "--bootstrap",
                "--port",
                String(HTTPS_PORT),
                "--metrics-port",
                String(METRICS_PORT),
              ],
              ports: [
                { name: "https", containerPort: HTTPS_PORT, protocol: "TCP" },
                { name: "metrics", containerPort: METRICS_PORT, protocol: "TCP" },
              ],
              env: [{ name: "NODE_ENV", value: "production" }],
              resources: {
                requests: { cpu: "100m", memory: "128Mi" },
                limits: { cpu: "1", memory: "256Mi" },
              },
              securityContext: {
                allowPrivilegeEscalation: false,
                privileged: false,
                readOnlyRootFilesystem: true,
                runAsNonRoot: true,
                capabilities: { drop: ["ALL"] },
                seccompProfile: { type: "RuntimeDefault" },
              },
              livenessProbe: {
                httpGet: { path: "/healthz", port: "https", scheme: "HTTPS" },
                periodSeconds: 10,
                timeoutSeconds: 2,
                failureThreshold: 3,
              },
              readinessProbe: {
                httpGet: { path: "/readyz", port: "https", scheme: "HTTPS" },
                periodSeconds: 5,
                timeoutSeconds: 2,
                failureThreshold: 2,
              },
              // The endpoint is removed while the Pod terminates; keep serving until the apiserver
              // and kube-proxy have seen that, so no admission request meets a closed port.
              lifecycle: { preStop: { sleep: { seconds: 5 } } },
              volumeMounts: [
                { name: "config", mountPath: CONFIG_MOUNT, readOnly: true },
                { name: "policies", mountPath: POLICIES_MOUNT, readOnly: true },
                { name: "kube-api-access", mountPath: TOKEN_MOUNT, readOnly: true },
                { name: "tmp", mountPath: "/tmp" },
              ],
            },
          ],
          volumes: [
            // By its base name: kustomize rewrites it to the generated ConfigMap's hashed name.
            { name: "config", configMap: { name: CONFIG_MAP_NAME } },
            { name: "policies", configMap: { name: POLICIES_CONFIG_MAP_NAME } },
            {
              name: "kube-api-access",
              projected: {
                sources: [
                  { serviceAccountToken: { path: "token", expirationSeconds: 3607 } },
                  { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
                  {
                    downwardAPI: {
                      items: [
                        {
                          path: "namespace",
                          fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" },
                        },
                      ],
                    },
                  },
                ],
              },
            },
            { name: "tmp", emptyDir: { sizeLimit: "16Mi" } },
          ],
        },
      },
    },
  };

  const pdb: V1PodDisruptionBudget = {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: meta(NAME),
    spec: { minAvailable: 1, selector: { matchLabels: labels } },
  };

  const denyIngress: V1NetworkPolicy = {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: meta("default-deny-ingress"),
    spec: { podSelector: {}, policyTypes: ["Ingress"] },
  };
  // The apiserver's source address differs per cluster (host network, a cloud's control plane), so
  // by default the webhook port is open to every source: any Pod in the cluster can then send
  // tollgate any AdmissionReview, with any userInfo. tollgate bounds what one request can cost
  // (RELIABILITY.md), and `--apiserver-cidr` narrows the port to the apiserver's addresses.
  const webhookFrom = options.apiserverCidrs?.length
    ? { from: options.apiserverCidrs.map((cidr) => ({ ipBlock: { cidr } })) }
    : {};
  const allowWebhook: V1NetworkPolicy = {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: meta("tollgate-ingress"),
    spec: {
      podSelector: { matchLabels: labels },
      policyTypes: ["Ingress"],
      ingress: [
        { ...webhookFrom, ports: [{ port: "https", protocol: "TCP" }] },
        { ports: [{ port: "metrics", protocol: "TCP" }] },
      ],
    },
  };

  const webhook = shippedWebhookConfiguration(config, options.policyRules);

  return [
    ...policyReportCrds(),
    ns,
    serviceAccount,
    secret,
    configMap,
    policiesMap,
    role,
    roleBinding,
    clusterRole,
    clusterRoleBinding,
    service,
    deployment,
    pdb,
    denyIngress,
    allowWebhook,
    webhook,
  ];
}

/**
 * list and watch on every kind the audit knows but Secrets, one rule per API group: the scanner
 * (and the informers of networkpolicy-missing, pdb-missing and policies' namespace selectors).
 */
export function scannedResourceRules(): { apiGroups: string[]; resources: string[]; verbs: string[] }[] {
  const byGroup = new Map<string, string[]>();
  for (const kind of Object.keys(KINDS) as KindName[]) {
    if (kind === "Secret") continue;
    const { group, resource } = KINDS[kind];
    byGroup.set(group, [...(byGroup.get(group) ?? []), resource]);
  }
  return [...byGroup].map(([group, resources]) => ({
    apiGroups: [group],
    resources: resources.sort(),
    verbs: ["list", "watch"],
  }));
}

/**
 * list and watch on the custom resources of config.podTemplates, one rule per API group in byte
 * order (as the chart's sortAlpha): `tollgate audit` and the scanner judge them.
 */
export function podTemplateReadRules(
  templates: readonly PodTemplateConfig[],
): { apiGroups: string[]; resources: string[]; verbs: string[] }[] {
  return podTemplateWebhookRules(templates).map((rule) => ({
    apiGroups: rule.apiGroups ?? [],
    resources: rule.resources ?? [],
    verbs: ["list", "watch"],
  }));
}

// js-yaml quotes strings that YAML 1.1 reads as booleans (`off`, `yes`), as kubectl reads YAML 1.1;
// no anchors, no folded lines.
const DUMP_OPTIONS = { noRefs: true, lineWidth: -1, quotingType: '"' } as const;

/** The install YAML: one document per object, as `tollgate manifests` prints it. */
export function installYaml(options: InstallOptions = {}): string {
  const header = "# Generated by `tollgate manifests`. Do not edit by hand.\n";
  return (
    header +
    installManifests(options)
      .map((object) => `---\n${dump(object, DUMP_OPTIONS)}`)
      .join("")
  );
}

/** One file of the kustomize base. */
export interface BaseFile {
  /** Relative to the base's folder. */
  path: string;
  content: string;
}

const BASE_HEADER =
  "# Generated by `tollgate manifests --output-dir` (npm run manifests). Do not edit by hand:\n" +
  "# change it in an overlay (docs/install.md).\n";

/** `<kind>-<name>.yaml`, lower case: unique within the install, and says what is inside. */
function baseFileName(object: KubernetesObject): string {
  return `${object.kind!.toLowerCase()}-${object.metadata!.name!}.yaml`;
}

/**
 * The kustomize base that `manifests/` ships (`kubectl apply -k manifests/`): one file per object
 * of `installManifests` but the ConfigMap, a kustomization.yaml, and the config as a file of its
 * own (`tollgate.yaml`) that a configMapGenerator turns into the ConfigMap. An operator's overlay
 * replaces that file (`behavior: replace`), so applying a new base never overwrites their config;
 * the generated name carries a hash of the content, and kustomize rewrites the Deployment's
 * reference to it, so a config change rolls the Pods.
 */
export function installBase(options: InstallOptions = {}): BaseFile[] {
  const policyFiles = options.policyFiles ?? [];
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  const objects = installManifests(options).filter(
    (object) =>
      !(
        object.kind === "ConfigMap" &&
        (object.metadata?.name === CONFIG_MAP_NAME || object.metadata?.name === POLICIES_CONFIG_MAP_NAME)
      ),
  );
  const files = objects.map((object) => ({
    path: baseFileName(object),
    content: `${BASE_HEADER}${dump(object, DUMP_OPTIONS)}`,
  }));
  const config: BaseFile = {
    path: BASE_CONFIG_FILE,
    content:
      "# tollgate's config (README.md#configuration), the ConfigMap tollgate-config of this base.\n" +
      "# Generated by `tollgate manifests --output-dir`: do not edit it here. Replace it in an\n" +
      "# overlay instead (docs/install.md), so that a new version of the base keeps your config.\n" +
      dump(installConfig(namespace, policyFiles.length > 0), DUMP_OPTIONS),
  };
  const policies: BaseFile[] = policyFiles.map((file) => ({
    path: `${BASE_POLICIES_FOLDER}/${file.name}`,
    content: file.content,
  }));
  const kustomization = {
    apiVersion: "kustomize.config.k8s.io/v1beta1",
    kind: "Kustomization",
    resources: files.map((file) => file.path),
    configMapGenerator: [
      {
        name: CONFIG_MAP_NAME,
        namespace,
        files: [`${CONFIG_KEY}=${BASE_CONFIG_FILE}`],
        options: { labels: { "app.kubernetes.io/name": NAME } },
      },
      // Empty unless `--policy` named files: an overlay adds its own with `behavior: merge` (docs/install.md).
      {
        name: POLICIES_CONFIG_MAP_NAME,
        namespace,
        ...(policies.length > 0 ? { files: policies.map((file) => file.path) } : {}),
        options: { labels: { "app.kubernetes.io/name": NAME } },
      },
    ],
  };
  return [
    { path: "kustomization.yaml", content: `${BASE_HEADER}${dump(kustomization, DUMP_OPTIONS)}` },
    config,
    ...policies,
    ...files,
  ];
}
