import { describe, expect, it } from "vitest";
import type { ConfigInput } from "../../src/config/schema.js";
import type { KubeObject } from "../../src/objects/object.js";
import type { Source } from "../../src/rules/types.js";
import { compliantPod } from "../support/reviews.js";
import { judge } from "./helpers.js";

/**
 * Objects with fields of the wrong shape. The apiserver rejects them before a webhook sees them,
 * but `tollgate check` reads files, and anyone who reaches the webhook port can send anything:
 * target extraction narrows them once, and each must give exactly these findings (the ones it gave
 * before the narrowing moved out of the rules).
 */

type Patch = (spec: Record<string, unknown>, web: Record<string, unknown>) => void;

/** The compliant Pod (no finding under the default config) with `patch` applied to its spec and container. */
function pod(patch: Patch): KubeObject {
  const object = compliantPod();
  const spec = object.spec as Record<string, unknown>;
  patch(spec, (spec.containers as Record<string, unknown>[])[0]!);
  return object;
}

/** The compliant Pod with these annotations. */
function annotated(annotations: unknown): KubeObject {
  const object = compliantPod();
  (object.metadata as Record<string, unknown>).annotations = annotations;
  return object;
}

/** The web container's security context, for patches. */
const sc = (web: Record<string, unknown>) => web.securityContext as Record<string, unknown>;

/** The findings as `rule path: message`; the object is left as it was, malformed fields and all. */
function findings(object: KubeObject, config: ConfigInput = {}, source: Source = "admission"): string[] {
  const before = structuredClone(object);
  const evaluation = judge({ object, source }, config);
  expect(object).toStrictEqual(before);
  expect(evaluation.ruleErrors).toEqual([]);
  return evaluation.findings.map((f) => `${f.rule} ${f.path}: ${f.message}`);
}

const cases: [string, string[], KubeObject, ConfigInput?, Source?][] = [
  [
    "containers that are not objects",
    [
      'privileged-container spec.containers[1].securityContext.privileged: container "#1" sets securityContext.privileged=true',
    ],
    pod((spec, web) => {
      spec.containers = [
        "sidecar",
        { ...web, name: undefined, securityContext: { ...sc(web), privileged: true } },
        7,
        null,
      ];
      spec.initContainers = "init";
      spec.ephemeralContainers = {};
    }),
  ],
  [
    'securityContext: "x"',
    [
      'privilege-escalation-allowed spec.containers[name=web].securityContext.allowPrivilegeEscalation: container "web" must set allowPrivilegeEscalation=false',
      'capabilities-not-dropped spec.containers[name=web].securityContext.capabilities.drop: container "web" must set capabilities.drop=["ALL"]',
      'writable-root-filesystem spec.containers[name=web].securityContext.readOnlyRootFilesystem: container "web" must set readOnlyRootFilesystem=true',
    ],
    pod((_, web) => {
      web.securityContext = "x";
    }),
  ],
  [
    "securityContext: a list",
    [
      'privilege-escalation-allowed spec.containers[name=web].securityContext.allowPrivilegeEscalation: container "web" must set allowPrivilegeEscalation=false',
      'capabilities-not-dropped spec.containers[name=web].securityContext.capabilities.drop: container "web" must set capabilities.drop=["ALL"]',
      'writable-root-filesystem spec.containers[name=web].securityContext.readOnlyRootFilesystem: container "web" must set readOnlyRootFilesystem=true',
    ],
    pod((_, web) => {
      web.securityContext = ["privileged"];
    }),
  ],
  [
    "ports: 5",
    [],
    pod((_, web) => {
      web.ports = 5;
    }),
  ],
  [
    "ports with entries of the wrong shape",
    ['host-port spec.containers[name=web].ports[4].hostPort: container "web" binds hostPort 8080'],
    pod((_, web) => {
      web.ports = [5, null, { hostPort: "8080" }, { hostPort: 0 }, { containerPort: 80, hostPort: 8080 }];
    }),
  ],
  [
    "env: {}",
    [],
    pod((_, web) => {
      web.env = {};
    }),
  ],
  [
    "env as a map",
    [],
    pod((_, web) => {
      web.env = { DB_PASSWORD: "hunter2" };
    }),
  ],
  [
    "env with entries of the wrong shape",
    [
      'secret-in-env-literal spec.containers[name=web].env[name=API_TOKEN].value: container "web" sets API_TOKEN as a literal value',
    ],
    pod((_, web) => {
      web.env = [
        5,
        "DB_PASSWORD=x",
        { name: 5, value: "x" },
        { name: "DB_PASSWORD", value: 5 },
        { name: "API_TOKEN", value: "s3cret" },
      ];
    }),
  ],
  [
    'capabilities.drop: "ALL"',
    [
      'capabilities-not-dropped spec.containers[name=web].securityContext.capabilities.drop: container "web" must set capabilities.drop=["ALL"]',
    ],
    pod((_, web) => {
      sc(web).capabilities = { drop: "ALL" };
    }),
  ],
  [
    'capabilities: "ALL"',
    [
      'capabilities-not-dropped spec.containers[name=web].securityContext.capabilities.drop: container "web" must set capabilities.drop=["ALL"]',
    ],
    pod((_, web) => {
      sc(web).capabilities = "ALL";
    }),
  ],
  [
    "capabilities.drop with a number",
    [],
    pod((_, web) => {
      sc(web).capabilities = { drop: [5, "ALL"] };
    }),
  ],
  [
    'capabilities.add: "SYS_ADMIN"',
    [],
    pod((_, web) => {
      sc(web).capabilities = { drop: ["ALL"], add: "SYS_ADMIN" };
    }),
  ],
  [
    "capabilities.add with a number",
    [
      'dangerous-capabilities-added spec.containers[name=web].securityContext.capabilities.add: container "web" must not add capability SYS_ADMIN',
    ],
    pod((_, web) => {
      sc(web).capabilities = { drop: ["ALL"], add: [5, "SYS_ADMIN", "NET_BIND_SERVICE"] };
    }),
  ],
  [
    'resources: "x"',
    [
      'container-requests-missing spec.containers[name=web].resources.requests: container "web" has no requests.cpu or requests.memory',
      'container-limits-missing spec.containers[name=web].resources.limits: container "web" has no limits.cpu or limits.memory',
    ],
    pod((_, web) => {
      web.resources = "x";
    }),
  ],
  [
    "resources.requests: a list",
    [
      'container-requests-missing spec.containers[name=web].resources.requests: container "web" has no requests.cpu or requests.memory',
      'container-limits-missing spec.containers[name=web].resources.limits: container "web" has no limits.memory',
    ],
    pod((_, web) => {
      web.resources = { requests: [], limits: { cpu: "1", memory: null } };
    }),
  ],
  [
    "seccompProfile: a string, in the container",
    [],
    pod((_, web) => {
      sc(web).seccompProfile = "RuntimeDefault";
    }),
  ],
  [
    "seccompProfile: a string, in the pod",
    [
      'seccomp-profile-missing spec.containers[name=web].securityContext.seccompProfile.type: container "web" must set seccompProfile.type=RuntimeDefault',
    ],
    pod((spec) => {
      (spec.securityContext as Record<string, unknown>).seccompProfile = "RuntimeDefault";
    }),
  ],
  [
    "appArmorProfile and seLinuxOptions: strings",
    [],
    pod((spec, web) => {
      sc(web).appArmorProfile = "Unconfined";
      sc(web).seLinuxOptions = "spc_t";
      spec.securityContext = {
        ...(spec.securityContext as object),
        appArmorProfile: "Unconfined",
        seLinuxOptions: "spc_t",
      };
    }),
  ],
  [
    'the pod securityContext: "x"',
    [
      'run-as-root spec.containers[name=web].securityContext.runAsNonRoot: container "web" must set securityContext.runAsNonRoot=true',
      'seccomp-profile-missing spec.containers[name=web].securityContext.seccompProfile.type: container "web" must set seccompProfile.type=RuntimeDefault',
    ],
    pod((spec) => {
      spec.securityContext = "x";
    }),
  ],
  [
    "sysctls: a string",
    [],
    pod((spec) => {
      (spec.securityContext as Record<string, unknown>).sysctls = "kernel.msgmax";
    }),
  ],
  [
    "sysctls with entries of the wrong shape",
    ["sysctls-unsafe spec.securityContext.sysctls[name=kernel.msgmax]: pod sets unsafe sysctl kernel.msgmax"],
    pod((spec) => {
      (spec.securityContext as Record<string, unknown>).sysctls = [
        5,
        { name: 5 },
        { name: "kernel.msgmax", value: "1" },
      ];
    }),
  ],
  [
    "volumes: 5",
    [],
    pod((spec) => {
      spec.volumes = 5;
    }),
  ],
  [
    "volumes with entries of the wrong shape",
    [
      'host-path-volume spec.volumes[2].hostPath: volume "#2" mounts the node\'s filesystem',
      'host-path-volume spec.volumes[name=logs].hostPath: volume "logs" mounts the node\'s filesystem (/var/log)',
    ],
    pod((spec) => {
      spec.volumes = [
        "data",
        { name: "a", hostPath: "/var" },
        { hostPath: { path: 7 } },
        { name: "logs", hostPath: { path: "/var/log" } },
      ];
    }),
  ],
  [
    'os: "windows" is no Windows pod',
    [
      'capabilities-not-dropped spec.containers[name=web].securityContext.capabilities.drop: container "web" must set capabilities.drop=["ALL"]',
    ],
    pod((spec, web) => {
      spec.os = "windows";
      web.securityContext = { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true };
    }),
  ],
  ["annotations: a list", [], annotated(["container.apparmor.security.beta.kubernetes.io/web"])],
  [
    "nodeSelector: a string and affinity of the wrong shape",
    ["node-placement-missing spec.nodeSelector: pod selects no node pool by pool"],
    pod((spec) => {
      spec.nodeSelector = "pool";
      spec.affinity = {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [5, { matchExpressions: "pool" }, { matchExpressions: [5, { key: 5 }] }],
          },
        },
      };
    }),
    { nodePoolKeys: ["pool"], rules: { "node-placement-missing": { severity: "warn" } } },
  ],
  [
    "a Deployment whose pod spec is a string",
    [],
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "api", namespace: "team-a" },
      spec: { replicas: 3, template: { metadata: "x", spec: "x" } },
    },
  ],
  [
    "a Deployment whose template metadata is a string",
    [],
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "api", namespace: "team-a" },
      spec: { replicas: 3, template: { metadata: "x", spec: compliantPod().spec } },
    },
  ],
  [
    'rules: "x"',
    [],
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: "ops" },
      rules: "x",
    },
  ],
  [
    "rules with entries of the wrong shape",
    ["rbac-secrets-access rules[2]: rule 2 grants get on secrets"],
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: "ops" },
      rules: [
        5,
        { verbs: "*", resources: "*", apiGroups: "*" },
        { apiGroups: ["", 5], resources: [5, "secrets"], verbs: [7, "get"] },
      ],
    },
  ],
  [
    "resourceNames: a string",
    ["rbac-secrets-access rules[0]: rule 0 grants get on secrets"],
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "ops", namespace: "team-a" },
      rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["get"], resourceNames: "db" }],
    },
  ],
  [
    "roleRef: a string",
    [
      'rbac-default-service-account-binding subjects[0]: binds the default ServiceAccount in namespace "team-a"',
    ],
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "ops" },
      roleRef: "cluster-admin",
      subjects: [{ kind: "ServiceAccount", name: "default", namespace: "team-a" }],
    },
  ],
  [
    "subjects: {}",
    [],
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "ops" },
      roleRef: { kind: "ClusterRole", name: "cluster-admin" },
      subjects: {},
    },
  ],
  [
    "subjects with entries of the wrong shape",
    [
      'rbac-cluster-admin-binding subjects[2]: binds cluster-admin to subject "ci"',
      'rbac-cluster-admin-binding subjects[3]: binds cluster-admin to ServiceAccount "default"',
      'rbac-default-service-account-binding subjects[3]: binds the default ServiceAccount in namespace "team-a"',
    ],
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "ops", namespace: "team-a" },
      roleRef: { kind: "ClusterRole", name: "cluster-admin" },
      subjects: [
        5,
        { kind: "User", name: 5 },
        { kind: 5, name: "ci" },
        { kind: "ServiceAccount", name: "default", namespace: 5 },
      ],
    },
  ],
  [
    "Namespace labels: a list",
    [
      "namespace-pss-label-missing metadata.labels: Namespace has no pod-security.kubernetes.io/enforce label",
    ],
    { apiVersion: "v1", kind: "Namespace", metadata: { name: "team-a", labels: [] } },
  ],
  [
    "Namespace labels: a number for the level",
    [
      "namespace-pss-label-missing metadata.labels: Namespace has no pod-security.kubernetes.io/enforce label",
    ],
    {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "team-a", labels: { "pod-security.kubernetes.io/enforce": 5 } },
    },
  ],
  [
    'automountServiceAccountToken: "false"',
    [
      "service-account-token-automounted automountServiceAccountToken: ServiceAccount must set automountServiceAccountToken=false",
    ],
    {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "web", namespace: "team-a" },
      automountServiceAccountToken: "false",
    },
  ],
  [
    "Secret data: a string, stringData: a list",
    [],
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "db", namespace: "team-a" },
      data: "x",
      stringData: ["a"],
    },
    {},
    "check",
  ],
];

describe("malformed fields", () => {
  it.each(cases)("%s", (_name, expected, object, config, source) => {
    expect(findings(object, config, source)).toEqual(expected);
  });
});
