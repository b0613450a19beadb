import type {
  RbacV1Subject,
  V1Container,
  V1ContainerPort,
  V1EnvVar,
  V1HostPathVolumeSource,
  V1NodeSelectorRequirement,
  V1PodOS,
  V1PodSecurityContext,
  V1PodSpec,
  V1RoleRef,
  V1SecurityContext,
  V1ServiceAccount,
  V1Sysctl,
  V1Volume,
} from "@kubernetes/client-node";
import { asIs, bool, is, list, listOf, num, record, shape, str, stringMap, strings } from "./narrow.js";

/**
 * Kubernetes objects as the rules read them. The object in a request is untrusted JSON: the
 * apiserver validates it before it calls a webhook, but `tollgate check` reads files, and anyone
 * who reaches the webhook port can send anything. Target extraction narrows it once, with the
 * narrowers below, so that every field declared here holds what its type says:
 * - an object or list of the wrong type reads as absent;
 * - a list entry that is not an object reads as an entry with no fields set, so entries keep the
 *   index that field paths name them by; a list of strings keeps only its strings;
 * - a scalar of the wrong type reads as absent.
 * Only the fields some rule reads are declared, with the names and types of @kubernetes/client-node;
 * every one is optional, as in the API. Nothing is copied when a value already has its shape.
 *
 * A few fields are typed `unknown` and kept as they came: their rule judges a value of any type
 * (it reports `procMount=5`, it counts a probe of any shape as declared), so reading a value of
 * the wrong type as absent would change what it finds.
 */

/** Fields `K` of the Kubernetes type `T`, each optional: absent when missing or of the wrong type. */
type Some<T, K extends keyof T> = Partial<Pick<T, K>>;

const NONE = Object.freeze({});

/**
 * An object's or a pod template's metadata. Label values are strings; annotation values are kept
 * as they came: apparmor-unconfined reports an AppArmor annotation of any type.
 */
export type Metadata = {
  labels?: Readonly<Record<string, string>>;
  annotations?: Readonly<Record<string, unknown>>;
};
export const metadata = shape<Metadata>(
  { labels: stringMap, annotations: record },
  (v) => is(stringMap, v.labels) && is(record, v.annotations),
);

export type SeccompProfile = { type?: string };
const seccompProfile = shape<SeccompProfile>({ type: str }, (v) => is(str, v.type));

/** An AppArmor profile; its type is reported whatever it is. */
export type AppArmorProfile = { type?: unknown };
const appArmorProfile = shape<AppArmorProfile>({ type: asIs }, () => true);

/** SELinux options; a type, user or role of any type is reported as set. */
export type SELinuxOptions = { type?: unknown; user?: unknown; role?: unknown };
const seLinuxOptions = shape<SELinuxOptions>({ type: asIs, user: asIs, role: asIs }, () => true);

export type Capabilities = { add?: readonly string[]; drop?: readonly string[] };
const capabilities = shape<Capabilities>(
  { add: strings, drop: strings },
  (v) => is(strings, v.add) && is(strings, v.drop),
);

/**
 * A container's security context. `runAsNonRoot` is kept as it came: a container that sets it to
 * anything but true fails run-as-root on its own account, even when the pod sets true; `procMount`
 * is reported whatever it is.
 */
export type SecurityContext = Some<
  V1SecurityContext,
  "privileged" | "allowPrivilegeEscalation" | "readOnlyRootFilesystem" | "runAsUser"
> & {
  runAsNonRoot?: unknown;
  procMount?: unknown;
  capabilities?: Capabilities;
  seccompProfile?: SeccompProfile;
  appArmorProfile?: AppArmorProfile;
  seLinuxOptions?: SELinuxOptions;
};
const securityContext = shape<SecurityContext>(
  {
    privileged: bool,
    allowPrivilegeEscalation: bool,
    readOnlyRootFilesystem: bool,
    runAsNonRoot: asIs,
    runAsUser: num,
    procMount: asIs,
    capabilities,
    seccompProfile,
    appArmorProfile,
    seLinuxOptions,
  },
  (v) =>
    is(bool, v.privileged) &&
    is(bool, v.allowPrivilegeEscalation) &&
    is(bool, v.readOnlyRootFilesystem) &&
    is(num, v.runAsUser) &&
    is(capabilities, v.capabilities) &&
    is(seccompProfile, v.seccompProfile) &&
    is(appArmorProfile, v.appArmorProfile) &&
    is(seLinuxOptions, v.seLinuxOptions),
);

export type Sysctl = Some<V1Sysctl, "name">;
const sysctls = listOf(
  shape<Sysctl>({ name: str }, (v) => is(str, v.name)),
  NONE,
);

export type PodSecurityContext = Some<V1PodSecurityContext, "runAsNonRoot" | "runAsUser"> & {
  seccompProfile?: SeccompProfile;
  appArmorProfile?: AppArmorProfile;
  seLinuxOptions?: SELinuxOptions;
  sysctls?: readonly Sysctl[];
};
const podSecurityContext = shape<PodSecurityContext>(
  { runAsNonRoot: bool, runAsUser: num, seccompProfile, appArmorProfile, seLinuxOptions, sysctls },
  (v) =>
    is(bool, v.runAsNonRoot) &&
    is(num, v.runAsUser) &&
    is(seccompProfile, v.seccompProfile) &&
    is(appArmorProfile, v.appArmorProfile) &&
    is(seLinuxOptions, v.seLinuxOptions) &&
    is(sysctls, v.sysctls),
);

export type ContainerPort = Some<V1ContainerPort, "hostPort">;
const ports = listOf(
  shape<ContainerPort>({ hostPort: num }, (v) => is(num, v.hostPort)),
  NONE,
);

export type EnvVar = Some<V1EnvVar, "name" | "value">;
const env = listOf(
  shape<EnvVar>({ name: str, value: str }, (v) => is(str, v.name) && is(str, v.value)),
  NONE,
);

/** Resource quantities by name (`cpu`, `memory`); any value that is set counts as set. */
export type Quantities = Readonly<Record<string, unknown>>;
export type Resources = { requests?: Quantities; limits?: Quantities };
const resources = shape<Resources>(
  { requests: record, limits: record },
  (v) => is(record, v.requests) && is(record, v.limits),
);

/** A container. Its probes are kept as they came: a probe of any shape counts as declared. */
export type Container = Some<V1Container, "name" | "image"> & {
  securityContext?: SecurityContext;
  resources?: Resources;
  ports?: readonly ContainerPort[];
  env?: readonly EnvVar[];
  livenessProbe?: unknown;
  readinessProbe?: unknown;
};
/** A container of a pod spec; undefined when the entry is not an object (`containersOf` passes it over). */
export const container = shape<Container>(
  {
    name: str,
    image: str,
    securityContext,
    resources,
    ports,
    env,
    livenessProbe: asIs,
    readinessProbe: asIs,
  },
  (v) =>
    is(str, v.name) &&
    is(str, v.image) &&
    is(securityContext, v.securityContext) &&
    is(resources, v.resources) &&
    is(ports, v.ports) &&
    is(env, v.env),
);

export type HostPath = Some<V1HostPathVolumeSource, "path">;
export type Volume = Some<V1Volume, "name"> & { hostPath?: HostPath };
const hostPath = shape<HostPath>({ path: str }, (v) => is(str, v.path));
const volumes = listOf(
  shape<Volume>({ name: str, hostPath }, (v) => is(str, v.name) && is(hostPath, v.hostPath)),
  NONE,
);

export type NodeSelectorRequirement = Some<V1NodeSelectorRequirement, "key">;
export type NodeSelectorTerm = { matchExpressions?: readonly NodeSelectorRequirement[] };
export type NodeSelector = { nodeSelectorTerms?: readonly NodeSelectorTerm[] };
export type NodeAffinity = { requiredDuringSchedulingIgnoredDuringExecution?: NodeSelector };
export type Affinity = { nodeAffinity?: NodeAffinity };
const matchExpressions = listOf(
  shape<NodeSelectorRequirement>({ key: str }, (v) => is(str, v.key)),
  NONE,
);
const nodeSelectorTerms = listOf(
  shape<NodeSelectorTerm>({ matchExpressions }, (v) => is(matchExpressions, v.matchExpressions)),
  NONE,
);
const required = shape<NodeSelector>({ nodeSelectorTerms }, (v) =>
  is(nodeSelectorTerms, v.nodeSelectorTerms),
);
const nodeAffinity = shape<NodeAffinity>({ requiredDuringSchedulingIgnoredDuringExecution: required }, (v) =>
  is(required, v.requiredDuringSchedulingIgnoredDuringExecution),
);
const affinity = shape<Affinity>({ nodeAffinity }, (v) => is(nodeAffinity, v.nodeAffinity));

export type PodOS = Some<V1PodOS, "name">;
const os = shape<PodOS>({ name: str }, (v) => is(str, v.name));

/**
 * A pod spec. The ServiceAccount names are kept as they came: a name of the wrong type fails
 * default-service-account, whatever the other name says.
 */
export type PodSpec = Some<
  V1PodSpec,
  "hostNetwork" | "hostPID" | "hostIPC" | "automountServiceAccountToken" | "restartPolicy"
> & {
  serviceAccountName?: unknown;
  serviceAccount?: unknown;
  /** Only its keys are read: a node pool key selects the pool whatever its value. */
  nodeSelector?: Readonly<Record<string, unknown>>;
  affinity?: Affinity;
  os?: PodOS;
  volumes?: readonly Volume[];
  securityContext?: PodSecurityContext;
  /** The container lists; their entries are narrowed by `containersOf`, on first use. */
  initContainers?: readonly unknown[];
  containers?: readonly unknown[];
  ephemeralContainers?: readonly unknown[];
};
export const podSpec = shape<PodSpec>(
  {
    hostNetwork: bool,
    hostPID: bool,
    hostIPC: bool,
    serviceAccountName: asIs,
    serviceAccount: asIs,
    automountServiceAccountToken: bool,
    restartPolicy: str,
    nodeSelector: record,
    affinity,
    os,
    volumes,
    securityContext: podSecurityContext,
    initContainers: list,
    containers: list,
    ephemeralContainers: list,
  },
  (v) =>
    is(bool, v.hostNetwork) &&
    is(bool, v.hostPID) &&
    is(bool, v.hostIPC) &&
    is(bool, v.automountServiceAccountToken) &&
    is(str, v.restartPolicy) &&
    is(record, v.nodeSelector) &&
    is(affinity, v.affinity) &&
    is(os, v.os) &&
    is(volumes, v.volumes) &&
    is(podSecurityContext, v.securityContext) &&
    is(list, v.initContainers) &&
    is(list, v.containers) &&
    is(list, v.ephemeralContainers),
);

/**
 * A Role's or ClusterRole's rule: lists of strings. The entries of `resourceNames` are kept as
 * they came: a rule that names any resource reads only what it names.
 */
export type PolicyRule = {
  apiGroups?: readonly string[];
  resources?: readonly string[];
  verbs?: readonly string[];
  resourceNames?: readonly unknown[];
};
export const policyRules = listOf(
  shape<PolicyRule>(
    { apiGroups: strings, resources: strings, verbs: strings, resourceNames: list },
    (v) =>
      is(strings, v.apiGroups) &&
      is(strings, v.resources) &&
      is(strings, v.verbs) &&
      is(list, v.resourceNames),
  ),
  NONE,
);

export type Subject = Some<RbacV1Subject, "kind" | "name" | "namespace">;
export type RoleRef = Some<V1RoleRef, "kind" | "name">;
export type Binding = { roleRef?: RoleRef; subjects?: readonly Subject[] };
const roleRef = shape<RoleRef>({ kind: str, name: str }, (v) => is(str, v.kind) && is(str, v.name));
const subjects = listOf(
  shape<Subject>(
    { kind: str, name: str, namespace: str },
    (v) => is(str, v.kind) && is(str, v.name) && is(str, v.namespace),
  ),
  NONE,
);
export const binding = shape<Binding>(
  { roleRef, subjects },
  (v) => is(roleRef, v.roleRef) && is(subjects, v.subjects),
);

export type Namespace = { metadata?: Metadata };
export const namespace = shape<Namespace>({ metadata }, (v) => is(metadata, v.metadata));

export type ServiceAccount = Some<V1ServiceAccount, "automountServiceAccountToken">;
export const serviceAccount = shape<ServiceAccount>({ automountServiceAccountToken: bool }, (v) =>
  is(bool, v.automountServiceAccountToken),
);

/** A Secret's values by key; only the keys are read. */
export type Secret = {
  data?: Readonly<Record<string, unknown>>;
  stringData?: Readonly<Record<string, unknown>>;
};
export const secret = shape<Secret>(
  { data: record, stringData: record },
  (v) => is(record, v.data) && is(record, v.stringData),
);
