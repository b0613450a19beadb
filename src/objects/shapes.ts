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
import { asIs, bool, list, listOf, num, record, shape, str, stringMap, strings } from "./narrow.js";

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
export const metadata = shape<Metadata>({ labels: stringMap, annotations: record });

export type SeccompProfile = { type?: string };
const seccompProfile = shape<SeccompProfile>({ type: str });

/** An AppArmor profile; its type is reported whatever it is. */
export type AppArmorProfile = { type?: unknown };
const appArmorProfile = shape<AppArmorProfile>({ type: asIs });

/** SELinux options; a type, user or role of any type is reported as set. */
export type SELinuxOptions = { type?: unknown; user?: unknown; role?: unknown };
const seLinuxOptions = shape<SELinuxOptions>({ type: asIs, user: asIs, role: asIs });

export type Capabilities = { add?: readonly string[]; drop?: readonly string[] };
const capabilities = shape<Capabilities>({ add: strings, drop: strings });

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
const securityContext = shape<SecurityContext>({
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
});

export type Sysctl = Some<V1Sysctl, "name">;
const sysctl = shape<Sysctl>({ name: str });

export type PodSecurityContext = Some<V1PodSecurityContext, "runAsNonRoot" | "runAsUser"> & {
  seccompProfile?: SeccompProfile;
  appArmorProfile?: AppArmorProfile;
  seLinuxOptions?: SELinuxOptions;
  sysctls?: readonly Sysctl[];
};
const podSecurityContext = shape<PodSecurityContext>({
  runAsNonRoot: bool,
  runAsUser: num,
  seccompProfile,
  appArmorProfile,
  seLinuxOptions,
  sysctls: listOf(sysctl, NONE),
});

export type ContainerPort = Some<V1ContainerPort, "hostPort">;
const containerPort = shape<ContainerPort>({ hostPort: num });

export type EnvVar = Some<V1EnvVar, "name" | "value">;
const envVar = shape<EnvVar>({ name: str, value: str });

/** Resource quantities by name (`cpu`, `memory`); any value that is set counts as set. */
export type Quantities = Readonly<Record<string, unknown>>;
export type Resources = { requests?: Quantities; limits?: Quantities };
const resources = shape<Resources>({ requests: record, limits: record });

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
export const container = shape<Container>({
  name: str,
  image: str,
  securityContext,
  resources,
  ports: listOf(containerPort, NONE),
  env: listOf(envVar, NONE),
  livenessProbe: asIs,
  readinessProbe: asIs,
});

export type HostPath = Some<V1HostPathVolumeSource, "path">;
export type Volume = Some<V1Volume, "name"> & { hostPath?: HostPath };
const volume = shape<Volume>({ name: str, hostPath: shape<HostPath>({ path: str }) });

export type NodeSelectorRequirement = Some<V1NodeSelectorRequirement, "key">;
export type NodeSelectorTerm = { matchExpressions?: readonly NodeSelectorRequirement[] };
export type NodeSelector = { nodeSelectorTerms?: readonly NodeSelectorTerm[] };
export type NodeAffinity = { requiredDuringSchedulingIgnoredDuringExecution?: NodeSelector };
export type Affinity = { nodeAffinity?: NodeAffinity };
const nodeSelectorTerm = shape<NodeSelectorTerm>({
  matchExpressions: listOf(shape<NodeSelectorRequirement>({ key: str }), NONE),
});
const affinity = shape<Affinity>({
  nodeAffinity: shape<NodeAffinity>({
    requiredDuringSchedulingIgnoredDuringExecution: shape<NodeSelector>({
      nodeSelectorTerms: listOf(nodeSelectorTerm, NONE),
    }),
  }),
});

export type PodOS = Some<V1PodOS, "name">;

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
export const podSpec = shape<PodSpec>({
  hostNetwork: bool,
  hostPID: bool,
  hostIPC: bool,
  serviceAccountName: asIs,
  serviceAccount: asIs,
  automountServiceAccountToken: bool,
  restartPolicy: str,
  nodeSelector: record,
  affinity,
  os: shape<PodOS>({ name: str }),
  volumes: listOf(volume, NONE),
  securityContext: podSecurityContext,
  initContainers: list,
  containers: list,
  ephemeralContainers: list,
});

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
  shape<PolicyRule>({ apiGroups: strings, resources: strings, verbs: strings, resourceNames: list }),
  NONE,
);

export type Subject = Some<RbacV1Subject, "kind" | "name" | "namespace">;
export type RoleRef = Some<V1RoleRef, "kind" | "name">;
export type Binding = { roleRef?: RoleRef; subjects?: readonly Subject[] };
export const binding = shape<Binding>({
  roleRef: shape<RoleRef>({ kind: str, name: str }),
  subjects: listOf(shape<Subject>({ kind: str, name: str, namespace: str }), NONE),
});

export type Namespace = { metadata?: Metadata };
export const namespace = shape<Namespace>({ metadata });

export type ServiceAccount = Some<V1ServiceAccount, "automountServiceAccountToken">;
export const serviceAccount = shape<ServiceAccount>({ automountServiceAccountToken: bool });

/** A Secret's values by key; only the keys are read. */
export type Secret = {
  data?: Readonly<Record<string, unknown>>;
  stringData?: Readonly<Record<string, unknown>>;
};
export const secret = shape<Secret>({ data: record, stringData: record });
