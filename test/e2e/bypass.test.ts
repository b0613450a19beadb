/**
 * Issue 13: the bypasses an ordinary user found behind the real kube-apiserver, with tollgate's own
 * generated webhook configuration. Each scenario failed before its fix: the forged-owner Pods were
 * created, the status subresources kept the mode label and exemption annotations, cluster-admin for
 * every authenticated user was admitted, and `kubectl create secret` failed while tollgate was down.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ControlPlane, type KubectlResult, startControlPlane } from "./controlplane.js";
import { compliantPod } from "./manifests.js";
import {
  startTollgate,
  TOLLGATE_NAMESPACE,
  type Tollgate,
  WEBHOOK_CONFIGURATION,
  waitForWebhook,
} from "./tollgate.js";

const BUILD_AND_START_TIMEOUT_MS = 45 * 60 * 1000;
const MODE = "tollgate.dev/mode";
const REPLICASET_CONTROLLER = "system:serviceaccount:kube-system:replicaset-controller";
const suffix = randomBytes(3).toString("hex");
const ns = (scenario: string): string => `${scenario}-${suffix}`;

let cp: ControlPlane;
let tollgate: Tollgate;

function kubectl(args: string[], input: string | undefined, user: boolean): Promise<KubectlResult> {
  return cp.kubectl(args, input === undefined ? { user } : { user, input });
}

/** A Pod that breaks three deny rules, controlled by `owner`. */
function hostilePod(
  name: string,
  owner: { apiVersion: string; kind: string; name: string; uid: string },
): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  ownerReferences:
    - { apiVersion: ${owner.apiVersion}, kind: ${owner.kind}, name: ${owner.name}, uid: "${owner.uid}", controller: true }
spec:
  hostNetwork: true
  containers:
    - name: web
      image: registry.example/web:1.0
      securityContext: { privileged: true, runAsUser: 0 }
`;
}

/** The pod spec of `compliantPod`, indented as a workload's `spec.template.spec`. */
function compliantTemplate(): string {
  return compliantPod("x")
    .split("\n")
    .slice(5)
    .map((line) => (line === "" ? line : `    ${line}`))
    .join("\n");
}

/** The rule ids of a tollgate denial, in the order the message lists them. */
function deniedRules(stderr: string): string[] {
  return [...stderr.matchAll(/^- ([a-z-]+): /gm)].map((m) => m[1]!);
}

const HOSTILE_POD_DENIALS = [
  "container-requests-missing",
  "container-limits-missing",
  "privileged-container",
  "run-as-root",
  "run-as-root",
  "privilege-escalation-allowed",
  "host-namespaces",
];

describe("bypasses closed (issue 13), behind a real kube-apiserver", () => {
  beforeAll(async () => {
    cp = await startControlPlane();
    await cp.createNamespace(TOLLGATE_NAMESPACE);
    tollgate = await startTollgate(cp);
    await waitForWebhook(cp);
  }, BUILD_AND_START_TIMEOUT_MS);

  afterAll(async () => {
    await tollgate?.stop();
    await cp?.stop();
  });

  it("1. judges a Pod with a forged controller owner that an ordinary user creates; a controller's own Pod is skipped", async () => {
    const namespace = ns("forged");
    await cp.createNamespace(namespace, { [MODE]: "enforce" });
    const missing = { apiVersion: "apps/v1", kind: "ReplicaSet", name: "does-not-exist", uid: "x" };
    const foreign = { apiVersion: "evil.example.com/v1", kind: "Deployment", name: "web", uid: "y" };
    for (const [name, owner] of [
      ["p-forged", missing],
      ["p-foreign", foreign],
    ] as const) {
      const r = await kubectl(["apply", "-n", namespace, "-f", "-"], hostilePod(name, owner), true);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toContain(
        `admission webhook "enforce.tollgate.dev" denied the request: tollgate: Pod "${name}" in namespace "${namespace}" has 7 violations:\n`,
      );
      expect(deniedRules(r.stderr)).toEqual(HOSTILE_POD_DENIALS);
    }

    // alice's own real ReplicaSet with no replicas: the garbage collector never removes its Pods.
    const replicaSet = `apiVersion: apps/v1
kind: ReplicaSet
metadata: { name: idle }
spec:
  replicas: 0
  selector: { matchLabels: { app: idle } }
  template:
    metadata: { labels: { app: idle } }
    spec:
${compliantTemplate()}`;
    const created = await kubectl(["apply", "-n", namespace, "-f", "-"], replicaSet, true);
    expect(created.code).toBe(0);
    expect(created.stdout).toBe("replicaset.apps/idle created\n");
    const uid = (
      await cp.kubectl(["get", "-n", namespace, "replicaset", "idle", "-o", "jsonpath={.metadata.uid}"])
    ).stdout;
    expect(uid).toMatch(/^[0-9a-f-]{36}$/);
    const real = { apiVersion: "apps/v1", kind: "ReplicaSet", name: "idle", uid };
    const byAlice = await kubectl(["apply", "-n", namespace, "-f", "-"], hostilePod("p-own-rs", real), true);
    expect(byAlice.code).toBe(1);
    expect(deniedRules(byAlice.stderr)).toEqual(HOSTILE_POD_DENIALS);
    const stored = await cp.kubectl(["get", "pods", "-n", namespace, "-o", "name"]);
    expect(stored).toEqual({
      code: 0,
      stdout: "",
      stderr: "",
    });

    // The same Pod from the ReplicaSet controller's identity: its template was judged with the
    // ReplicaSet, and the matchCondition keeps the apiserver from calling tollgate at all.
    const before = await tollgate.decisions();
    const byController = await cp.kubectl(
      ["--as", REPLICASET_CONTROLLER, "create", "-n", namespace, "-f", "-"],
      {
        input: hostilePod("idle-abcde", real),
      },
    );
    expect(byController).toEqual({ code: 0, stdout: "pod/idle-abcde created\n", stderr: "" });
    expect(await tollgate.decisions()).toBe(before);
  });

  it("2. checks the mode label and exemption annotations written through status subresources", async () => {
    const namespace = ns("status");
    await cp.createNamespace(namespace, { [MODE]: "enforce" });
    // alice may write these status subresources as far as RBAC goes: the denials are tollgate's.
    const grant = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: status-writer-${suffix} }
rules:
  - apiGroups: [""]
    resources: [namespaces/status, namespaces/finalize]
    verbs: [get, patch, update]
  - apiGroups: [apps]
    resources: [deployments/status]
    verbs: [get, patch, update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: alice-status-writer-${suffix} }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: status-writer-${suffix} }
subjects: [{ apiGroup: rbac.authorization.k8s.io, kind: User, name: alice }]
`;
    expect((await kubectl(["apply", "-f", "-"], grant, false)).code).toBe(0);

    const patch = (subresource: string, kind: string, name: string, body: object, user = true) =>
      kubectl(
        [
          "patch",
          kind,
          name,
          ...(kind === "namespace" ? [] : ["-n", namespace]),
          `--subresource=${subresource}`,
          "--type=merge",
          "-p",
          JSON.stringify(body),
        ],
        undefined,
        user,
      );
    const modeOf = async () =>
      (
        await cp.kubectl([
          "get",
          "namespace",
          namespace,
          "-o",
          "jsonpath={.metadata.labels.tollgate\\.dev/mode}",
        ])
      ).stdout;

    const denial =
      `admission webhook "cluster.tollgate.dev" denied the request: ` +
      `tollgate: Namespace ${JSON.stringify(namespace)} has 1 violation:\n` +
      `- protected-policy-label: "alice" is not a policy admin: cannot change label ${MODE} at metadata.labels[${MODE}]. ` +
      `Fix: leave ${MODE} as it was, or ask a policy admin to change it`;
    const viaStatus = await patch("status", "namespace", namespace, {
      metadata: { labels: { [MODE]: "off" } },
    });
    expect(viaStatus).toEqual({ code: 1, stdout: "", stderr: `Error from server (Forbidden): ${denial}\n` });
    expect(await modeOf()).toBe("enforce");
    // finalize takes only PUT: the whole Namespace, relabelled.
    const current = JSON.parse((await cp.kubectl(["get", "namespace", namespace, "-o", "json"])).stdout) as {
      metadata: { labels: Record<string, string> };
    };
    current.metadata.labels[MODE] = "off";
    const viaFinalize = await cp.request("PUT", `/api/v1/namespaces/${namespace}/finalize`, {
      user: true,
      body: current,
    });
    expect(viaFinalize.status).toBe(403);
    expect((JSON.parse(viaFinalize.body) as { message: string }).message).toBe(denial);
    expect(await modeOf()).toBe("enforce");

    const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: { name: api }
spec:
  replicas: 1
  selector: { matchLabels: { app: api } }
  template:
    metadata: { labels: { app: api } }
    spec:
${compliantTemplate()}`;
    const created = await kubectl(["apply", "-n", namespace, "-f", "-"], deployment, true);
    expect(created.code).toBe(0);
    const exemption = {
      metadata: {
        annotations: {
          "tollgate.dev/exempt": "privileged-container",
          "tollgate.dev/exempt-reason": "mine",
          "tollgate.dev/exempt-until": "2027-01-01",
        },
      },
    };
    const exempted = await patch("status", "deployment", "api", exemption);
    expect(exempted.code).toBe(1);
    expect(exempted.stderr).toContain(
      `admission webhook "enforce.tollgate.dev" denied the request: tollgate: Deployment "api" in namespace ${JSON.stringify(namespace)} has 3 violations:\n` +
        `- protected-policy-label: "alice" is not a policy admin: cannot set tollgate.dev/exempt at metadata.annotations[tollgate.dev/exempt].`,
    );
    expect(deniedRules(exempted.stderr)).toEqual([
      "protected-policy-label",
      "protected-policy-label",
      "protected-policy-label",
    ]);
    const annotations = await cp.kubectl([
      "get",
      "deployment",
      "api",
      "-n",
      namespace,
      "-o",
      "jsonpath={.metadata.annotations}",
    ]);
    expect(annotations.stdout).not.toContain("tollgate.dev/exempt");

    // Status writes that leave the policy metadata alone never reach tollgate (kubelets and
    // controllers write status all the time).
    const before = await tollgate.decisions();
    const plain = await patch("status", "deployment", "api", { metadata: { annotations: { team: "a" } } });
    expect(plain).toEqual({ code: 0, stdout: "deployment.apps/api patched\n", stderr: "" });
    expect(await tollgate.decisions()).toBe(before);

    // A policy admin may change the label through the status subresource.
    const byAdmin = await patch(
      "status",
      "namespace",
      namespace,
      { metadata: { labels: { [MODE]: "warn" } } },
      false,
    );
    expect(byAdmin).toEqual({ code: 0, stdout: `namespace/${namespace} patched\n`, stderr: "" });
    expect(await modeOf()).toBe("warn");
  });

  it("4. denies cluster-admin for everyone, for a policy admin too; the control plane's own groups pass", async () => {
    for (const [kind, name] of [
      ["Group", "system:authenticated"],
      ["Group", "system:unauthenticated"],
      ["Group", "system:serviceaccounts"],
      ["User", "system:anonymous"],
    ] as const) {
      const binding = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: everyone-${suffix} }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin }
subjects: [{ apiGroup: rbac.authorization.k8s.io, kind: ${kind}, name: "${name}" }]
`;
      const r = await kubectl(["apply", "-f", "-"], binding, false);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        `admission webhook "cluster.tollgate.dev" denied the request: tollgate: ClusterRoleBinding "everyone-${suffix}" has 1 violation:\n` +
          `- rbac-cluster-admin-binding: binds cluster-admin to ${kind} "${name}" (`,
      );
    }
    const masters = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: masters-${suffix} }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin }
subjects: [{ apiGroup: rbac.authorization.k8s.io, kind: Group, name: "system:masters" }]
`;
    expect(await kubectl(["apply", "-f", "-"], masters, false)).toEqual({
      code: 0,
      stdout: `clusterrolebinding.rbac.authorization.k8s.io/masters-${suffix} created\n`,
      stderr: "",
    });
  });

  it("10. never sends Secrets to tollgate: they are created while it is down, in an enforce namespace", async () => {
    const config = await cp.kubectl([
      "get",
      "validatingwebhookconfiguration",
      WEBHOOK_CONFIGURATION,
      "-o",
      "json",
    ]);
    const webhooks = (JSON.parse(config.stdout) as { webhooks: { rules: { resources: string[] }[] }[] })
      .webhooks;
    const resources = webhooks.flatMap((w) => w.rules.flatMap((r) => r.resources));
    expect(resources.filter((r) => r.startsWith("secrets"))).toEqual([]);

    const namespace = ns("secret");
    await cp.createNamespace(namespace, { [MODE]: "enforce" });
    expect(await tollgate.stop()).toBe(0);
    const secret = await cp.kubectl(
      ["create", "secret", "generic", "y", "-n", namespace, "--from-literal=k=v"],
      {
        user: true,
      },
    );
    expect(secret).toEqual({ code: 0, stdout: "secret/y created\n", stderr: "" });
  });
});
