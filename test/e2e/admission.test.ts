/**
 * Issue 6: tollgate behind a real kube-apiserver. tollgate runs as the built CLI
 * (`serve --bootstrap --webhook-url`), so the apiserver calls it over TLS with the caBundle the
 * bootstrapper published, and every verdict is read from the real kubectl's output.
 */
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ControlPlane, eventually, type KubectlResult, startControlPlane } from "./controlplane.js";
import {
  compliantPod,
  ROLLOUT_CRD,
  rootPod,
  rootPodDenials,
  rootPodDenialStderr,
  rootPodWarnings,
  rootPodWarnModeWarnings,
} from "./manifests.js";
import {
  startTollgate,
  TOLLGATE_NAMESPACE,
  type Tollgate,
  WEBHOOK_CONFIGURATION,
  waitForWebhook,
} from "./tollgate.js";

// The first run builds kube-apiserver, kubectl and etcd (7-11 min on 2 cores); later runs use the cache.
const BUILD_AND_START_TIMEOUT_MS = 45 * 60 * 1000;

const MODE = "tollgate.dev/mode";
const suffix = randomBytes(3).toString("hex");
/** A fresh namespace name per scenario: namespaces never finish deleting here. */
const ns = (scenario: string): string => `${scenario}-${suffix}`;

let cp: ControlPlane;
let tollgate: Tollgate;

/** `kubectl apply -f -` of `manifest`, as alice unless `admin`. */
function apply(
  namespace: string | undefined,
  manifest: string,
  { admin = false, dryRun = false }: { admin?: boolean; dryRun?: boolean } = {},
): Promise<KubectlResult> {
  const args = ["apply", ...(namespace ? ["-n", namespace] : []), ...(dryRun ? ["--dry-run=server"] : [])];
  return cp.kubectl([...args, "-f", "-"], { user: !admin, input: manifest });
}

async function exists(kind: string, name: string, namespace?: string): Promise<boolean> {
  const r = await cp.kubectl(["get", kind, name, ...(namespace ? ["-n", namespace] : []), "-o", "name"]);
  if (r.code === 0) return true;
  expect(r.stderr).toMatch(/\(NotFound\)/);
  return false;
}

/** Waits until the apiserver sends `namespace`'s requests to the `mode` entry (a dry-run shows which). */
async function untilMode(namespace: string, mode: "enforce" | "warn"): Promise<void> {
  await eventually(`namespace ${namespace} in ${mode} mode`, async () => {
    const r = await apply(namespace, rootPod("mode-probe"), { admin: true, dryRun: true });
    return mode === "enforce"
      ? r.stderr.includes('admission webhook "enforce.tollgate.dev" denied the request')
      : r.code === 0 && r.stderr.includes("Warning: run-as-root:");
  });
}

function label(namespace: string, value: string, user: boolean): Promise<KubectlResult> {
  return cp.kubectl(["label", "namespace", namespace, `${MODE}=${value}`, "--overwrite"], { user });
}

/** tollgate's config here: the defaults, and Argo Rollouts' pod templates judged as Deployments'. */
const CONFIG = "podTemplates:\n  - { group: argoproj.io, kind: Rollout, path: spec.template }\n";

/** The registration is checked every 2 s, so that a reload's new pod templates are registered within the test. */
const CHECK_EVERY_2S = ["--webhook-check-interval", "2"];

/** A Rollout whose template holds `spec` (indented as a pod spec's fields). */
function rollout(name: string, spec: string): string {
  return `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: ${name}
spec:
  replicas: 2
  strategy: { canary: { steps: [{ setWeight: 20 }] } }
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
${spec
  .split("\n")
  .filter((line) => line !== "")
  .map((line) => `      ${line}`)
  .join("\n")}
`;
}

const PSS_WARNING =
  "Warning: namespace-pss-label-missing: Namespace has no pod-security.kubernetes.io/enforce label (metadata.labels)\n";

describe("tollgate behind a real kube-apiserver", () => {
  beforeAll(async () => {
    cp = await startControlPlane();
    // The bootstrapper keeps its CA and serving certificate in a Secret in tollgate's namespace.
    await cp.createNamespace(TOLLGATE_NAMESPACE);
    tollgate = await startTollgate(cp, { config: CONFIG, args: CHECK_EVERY_2S });
    await waitForWebhook(cp);
  }, BUILD_AND_START_TIMEOUT_MS);

  afterAll(async () => {
    await tollgate?.stop();
    await cp?.stop();
  });

  it("1. denies a Pod that runs as root without limits in an enforce namespace, with rule ids and fixes; stores nothing", async () => {
    const namespace = ns("enforce");
    await cp.createNamespace(namespace, { [MODE]: "enforce" });

    const r = await apply(namespace, rootPod("web"));

    expect(r).toEqual({ code: 1, stdout: "", stderr: rootPodDenialStderr(namespace, "web") });
    expect(await exists("pod", "web", namespace)).toBe(false);
  });

  it("2. admits the same Pod in a warn namespace, and kubectl prints every finding as a Warning line", async () => {
    const namespace = ns("warn");
    await cp.createNamespace(namespace, { [MODE]: "warn" });

    const r = await apply(namespace, rootPod("web"));

    expect(r).toEqual({
      code: 0,
      stdout: "pod/web created\n",
      stderr: `${rootPodWarnModeWarnings(namespace).join("\n")}\n`,
    });
    expect(await exists("pod", "web", namespace)).toBe(true);
  });

  it("3. shows the verdict for --dry-run=server (denial in enforce, warnings in warn) and stores nothing", async () => {
    const enforce = ns("dry-enforce");
    const warn = ns("dry-warn");
    await cp.createNamespace(enforce, { [MODE]: "enforce" });
    await cp.createNamespace(warn, { [MODE]: "warn" });

    const denied = await apply(enforce, rootPod("web"), { dryRun: true });
    expect(denied).toEqual({ code: 1, stdout: "", stderr: rootPodDenialStderr(enforce, "web") });

    const warned = await apply(warn, rootPod("web"), { dryRun: true });
    expect(warned).toEqual({
      code: 0,
      stdout: "pod/web created (server dry run)\n",
      stderr: `${rootPodWarnModeWarnings(warn).join("\n")}\n`,
    });

    expect(await exists("pod", "web", enforce)).toBe(false);
    expect(await exists("pod", "web", warn)).toBe(false);
  });

  it("4. denies a Deployment with a bad template at apply; a Pod owned by a controller is not judged again", async () => {
    const namespace = ns("deploy");
    await cp.createNamespace(namespace, { [MODE]: "enforce" });
    const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  replicas: 1
  selector: { matchLabels: { app: api } }
  template:
    metadata: { labels: { app: api } }
    spec:
      containers:
        - name: api
          image: registry.example/api:2.3
`;
    const r = await apply(namespace, deployment);
    const at = "spec.template.spec";
    expect(r).toEqual({
      code: 1,
      stdout: "",
      stderr: [
        ...rootPodWarnings(namespace, "api", at),
        `Error from server (Forbidden): error when creating "STDIN": admission webhook "enforce.tollgate.dev" denied the request: tollgate: Deployment "api" in namespace ${JSON.stringify(namespace)} has 4 violations:`,
        ...rootPodDenials("api", at),
        "",
      ].join("\n"),
    });
    expect(await exists("deployment", "api", namespace)).toBe(false);

    // What the ReplicaSet controller would create: the template was judged with the workload.
    const owned = `apiVersion: v1
kind: Pod
metadata:
  name: api-7c9f8d-x2k4q
  ownerReferences:
    - apiVersion: apps/v1
      kind: ReplicaSet
      name: api-7c9f8d
      uid: 6b1f2a4e-3c5d-4e7f-8a9b-0c1d2e3f4a5b
      controller: true
spec:
  containers:
    - name: api
      image: registry.example/api:2.3
`;
    // Created by the ReplicaSet controller's own identity, which only the apiserver can vouch for.
    const before = await tollgate.decisions();
    const created = await cp.kubectl(
      ["--as=system:serviceaccount:kube-system:replicaset-controller", "create", "-n", namespace, "-f", "-"],
      { input: owned },
    );
    expect(created).toEqual({ code: 0, stdout: "pod/api-7c9f8d-x2k4q created\n", stderr: "" });
    // The matchCondition kept the apiserver from calling tollgate at all.
    expect(await tollgate.decisions()).toBe(before);
    expect(await exists("pod", "api-7c9f8d-x2k4q", namespace)).toBe(true);
  });

  it("5. follows the namespace label: warn to enforce changes the verdict; alice cannot flip it; off is never sent", async () => {
    const namespace = ns("flip");
    await cp.createNamespace(namespace, { [MODE]: "warn" });

    const warned = await apply(namespace, rootPod("before"));
    expect(warned.code).toBe(0);
    expect(warned.stdout).toBe("pod/before created\n");

    // The background audit has judged "before" (not ready for enforce): the flip is previewed.
    await eventually("the audit's picture of the namespace", async () =>
      (await tollgate.metrics()).includes(`tollgate_namespace_enforce_ready{namespace="${namespace}"} 0`),
    );
    const flipped = await label(namespace, "enforce", false);
    expect(flipped).toEqual({
      code: 0,
      stdout: `namespace/${namespace} labeled\n`,
      stderr:
        PSS_WARNING +
        `Warning: tollgate: enforce would deny 1 object that runs in ${namespace} now:\n` +
        "Warning: tollgate: - Pod before (container-requests-missing, container-limits-missing, run-as-root, …)\n",
    });
    await untilMode(namespace, "enforce");
    const denied = await apply(namespace, rootPod("after"));
    expect(denied).toEqual({ code: 1, stdout: "", stderr: rootPodDenialStderr(namespace, "after") });

    // alice may patch namespaces as far as RBAC goes, so the denial is tollgate's protected label.
    const role = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: namespace-labeler-${suffix} }
rules:
  - apiGroups: [""]
    resources: [namespaces]
    verbs: [get, list, patch, update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: alice-namespace-labeler-${suffix} }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: namespace-labeler-${suffix} }
subjects: [{ apiGroup: rbac.authorization.k8s.io, kind: User, name: alice }]
`;
    const granted = await apply(undefined, role, { admin: true });
    expect(granted.code).toBe(0);
    const byAlice = await label(namespace, "warn", true);
    expect(byAlice).toEqual({
      code: 1,
      stdout: "",
      stderr:
        `${PSS_WARNING}Error from server (Forbidden): admission webhook "cluster.tollgate.dev" denied the request: ` +
        `tollgate: Namespace ${JSON.stringify(namespace)} has 1 violation:\n` +
        `- protected-policy-label: "alice" is not a policy admin: cannot change label ${MODE} at metadata.labels[${MODE}]. ` +
        `Fix: leave ${MODE} as it was, or ask a policy admin to change it\n`,
    });
    const current = await cp.kubectl([
      "get",
      "namespace",
      namespace,
      "-o",
      `jsonpath={.metadata.labels.tollgate\\.dev/mode}`,
    ]);
    expect(current.stdout).toBe("enforce");

    // off: no webhook entry matches, so tollgate never sees the request.
    const off = ns("off");
    const enforce = ns("counted");
    await cp.createNamespace(off, { [MODE]: "off" });
    await cp.createNamespace(enforce, { [MODE]: "enforce" });
    const before = await tollgate.decisions();
    const admitted = await apply(off, rootPod("web"));
    expect(admitted).toEqual({ code: 0, stdout: "pod/web created\n", stderr: "" });
    expect(await tollgate.decisions()).toBe(before);
    const counted = await apply(enforce, rootPod("web"));
    expect(counted.code).toBe(1);
    expect(await tollgate.decisions()).toBe(before + 1);
  });

  it("6. denies a ClusterRole with wildcard verbs (the cluster-scoped entry)", async () => {
    const name = `everything-${suffix}`;
    const role = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: ${name} }
rules:
  - apiGroups: [apps]
    resources: [deployments]
    verbs: ["*"]
`;
    const r = await apply(undefined, role, { admin: true });
    expect(r).toEqual({
      code: 1,
      stdout: "",
      stderr:
        `Error from server (Forbidden): error when creating "STDIN": admission webhook "cluster.tollgate.dev" denied the request: ` +
        `tollgate: ClusterRole ${JSON.stringify(name)} has 1 violation:\n` +
        `- rbac-wildcard: rule 0 grants "*" in verbs at rules[0].verbs. Fix: list the verbs the subject needs instead of "*" in rules[0]\n`,
    });
    expect(await exists("clusterrole", name)).toBe(false);
  });

  it("7. ratchets UPDATEs: an old violation warns after the flip to enforce, a new one denies", async () => {
    const namespace = ns("ratchet");
    await cp.createNamespace(namespace, { [MODE]: "warn" });
    const deployment = (extra: { labels?: string; privileged?: boolean }): string => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: legacy
  labels: { app: legacy${extra.labels ?? ""} }
spec:
  replicas: 1
  selector: { matchLabels: { app: legacy } }
  template:
    metadata: { labels: { app: legacy } }
    spec:
      containers:
        - name: legacy
          image: registry.example/legacy:1.0
${extra.privileged ? "          securityContext: { privileged: true }\n" : ""}`;

    const legacyWarnings = rootPodWarnModeWarnings(namespace, "legacy", "spec.template.spec");
    const created = await apply(namespace, deployment({}));
    expect(created).toEqual({
      code: 0,
      stdout: "deployment.apps/legacy created\n",
      stderr: `${legacyWarnings.join("\n")}\n`,
    });

    expect((await label(namespace, "enforce", false)).code).toBe(0);
    await untilMode(namespace, "enforce");

    // An unrelated field: the four deny findings the stored object already has only warn.
    const ratchet =
      "Warning: ratchet: 4 violations the object already had warn instead of deny; new ones deny";
    const patched = await apply(namespace, deployment({ labels: ", team: shop" }));
    expect(patched).toEqual({
      code: 0,
      stdout: "deployment.apps/legacy configured\n",
      stderr: `${[...legacyWarnings, ratchet].join("\n")}\n`,
    });

    // A new violation denies, and only it is listed.
    const worse = await apply(namespace, deployment({ labels: ", team: shop", privileged: true }));
    expect(worse.code).toBe(1);
    expect(worse.stdout).toBe("");
    expect(
      worse.stderr.startsWith(
        `${[...legacyWarnings, ratchet].join("\n")}\nError from server (Forbidden): error when applying patch:\n`,
      ),
    ).toBe(true);
    expect(
      worse.stderr.endsWith(
        `for: "STDIN": error when patching "STDIN": admission webhook "enforce.tollgate.dev" denied the request: ` +
          `tollgate: Deployment "legacy" in namespace ${JSON.stringify(namespace)} has 1 violation:\n` +
          `- privileged-container: container "legacy" sets securityContext.privileged=true at spec.template.spec.containers[name=legacy].securityContext.privileged. ` +
          `Fix: remove securityContext.privileged from container "legacy"; add only the capabilities it needs\n`,
      ),
    ).toBe(true);
    const stored = await cp.kubectl([
      "get",
      "deployment",
      "legacy",
      "-n",
      namespace,
      "-o",
      "jsonpath={.metadata.labels.team}/{.spec.template.spec.containers[0].securityContext}",
    ]);
    expect(stored).toEqual({ code: 0, stdout: "shop/", stderr: "" });
  });

  it("9. fails closed while tollgate is down (failurePolicy: Fail), kube-system unaffected; works again after a restart", async () => {
    const namespace = ns("down");
    await cp.createNamespace(namespace, { [MODE]: "enforce" });
    const { port, metricsPort } = tollgate;

    expect(await tollgate.stop()).toBe(0);

    const r = await apply(namespace, compliantPod("web"));
    expect(r).toEqual({
      code: 1,
      stdout: "",
      stderr:
        `Error from server (InternalError): error when creating "STDIN": Internal error occurred: ` +
        `failed calling webhook "enforce.tollgate.dev": failed to call webhook: ` +
        `Post "https://127.0.0.1:${port}/validate/enforce?timeout=3s": dial tcp 127.0.0.1:${port}: connect: connection refused\n`,
    });
    expect(await exists("pod", "web", namespace)).toBe(false);

    // ServiceAccounts are sent to tollgate, but kube-system is left out of every entry.
    const sa = await cp.kubectl(["-n", "kube-system", "create", "serviceaccount", `healer-${suffix}`]);
    expect(sa).toEqual({ code: 0, stdout: `serviceaccount/healer-${suffix} created\n`, stderr: "" });

    tollgate = await startTollgate(cp, { config: CONFIG, args: CHECK_EVERY_2S, port, metricsPort });
    const denied = await apply(namespace, rootPod("web"));
    expect(denied).toEqual({ code: 1, stdout: "", stderr: rootPodDenialStderr(namespace, "web") });
    const admitted = await apply(namespace, compliantPod("web"));
    expect(admitted).toEqual({
      code: 0,
      stdout: "pod/web created\n",
      stderr:
        'Warning: default-service-account: pod names the "default" ServiceAccount (spec.serviceAccountName)\n' +
        `Warning: networkpolicy-missing: namespace ${JSON.stringify(namespace)} has no default-deny ingress NetworkPolicy (metadata.namespace)\n`,
    });
  });

  it("10. judges an Argo Rollout's pod template (config podTemplates): a bad one is denied, a good one admitted", async () => {
    const namespace = ns("rollout");
    await cp.createNamespace(namespace, { [MODE]: "enforce" });
    const crd = await cp.kubectl(["apply", "-f", "-"], { input: ROLLOUT_CRD });
    expect(crd).toEqual({
      code: 0,
      stdout: "customresourcedefinition.apiextensions.k8s.io/rollouts.argoproj.io created\n",
      stderr: "",
    });
    const established = await cp.kubectl([
      "wait",
      "--for=condition=Established",
      "--timeout=30s",
      "crd/rollouts.argoproj.io",
    ]);
    expect(established.code).toBe(0);
    // tollgate registered the config's custom resource in every namespaced entry.
    const rules = await cp.kubectl([
      "get",
      "validatingwebhookconfiguration",
      WEBHOOK_CONFIGURATION,
      "-o",
      "jsonpath={range .webhooks[*]}{.name}={.rules[?(@.apiGroups[0]=='argoproj.io')].resources}{'\\n'}{end}",
    ]);
    expect(rules.stdout).toBe(
      [
        'enforce.tollgate.dev=["rollouts"]',
        'warn.tollgate.dev=["rollouts"]',
        'default.tollgate.dev=["rollouts"]',
        "cluster.tollgate.dev=",
        "namespaces.tollgate.dev=",
        "",
      ].join("\n"),
    );

    // As the admin: alice's edit role grants nothing on argoproj.io.
    const bad = rollout("web", "containers:\n  - name: web\n    image: registry.example/web:1.0\n");
    const at = "spec.template.spec";
    // The discovery cache of kubectl may not know the new kind for a moment.
    let denied: KubectlResult = { code: -1, stdout: "", stderr: "" };
    await eventually("the Rollout kind served", async () => {
      denied = await apply(namespace, bad, { admin: true, dryRun: true });
      return !denied.stderr.includes("no matches for kind");
    });
    expect(denied).toEqual({
      code: 1,
      stdout: "",
      stderr: [
        ...rootPodWarnings(namespace, "web", at),
        `Warning: pdb-missing: no PodDisruptionBudget selects the 2 replicas' pods (spec.template.metadata.labels)`,
        `Error from server (Forbidden): error when creating "STDIN": admission webhook "enforce.tollgate.dev" denied the request: tollgate: Rollout "web" in namespace ${JSON.stringify(namespace)} has 4 violations:`,
        ...rootPodDenials("web", at),
        "",
      ].join("\n"),
    });
    expect(await exists("rollout.argoproj.io", "web", namespace)).toBe(false);

    const good = compliantPod("x").split("spec:\n")[1]!.replace(/^ {2}/gm, "");
    const admitted = await apply(namespace, rollout("web", good), { admin: true, dryRun: true });
    expect(admitted).toEqual({
      code: 0,
      stdout: "rollout.argoproj.io/web created (server dry run)\n",
      stderr: [
        "Warning: default-service-account: pod uses the default ServiceAccount (none named) (spec.template.spec.serviceAccountName)",
        `Warning: networkpolicy-missing: namespace ${JSON.stringify(namespace)} has no default-deny ingress NetworkPolicy (metadata.namespace)`,
        `Warning: pdb-missing: no PodDisruptionBudget selects the 2 replicas' pods (spec.template.metadata.labels)`,
        "",
      ].join("\n"),
    });
    expect(await exists("rollout.argoproj.io", "web", namespace)).toBe(false);

    // A reload that names one more custom resource widens the registered rules, without a restart.
    writeFileSync(
      join(cp.dir, "tollgate.yaml"),
      `${CONFIG}  - { group: apps.kruise.io, kind: CloneSet, path: spec.template }\n`,
    );
    await eventually(
      "clonesets registered after the reload",
      async () => {
        const r = await cp.kubectl([
          "get",
          "validatingwebhookconfiguration",
          WEBHOOK_CONFIGURATION,
          "-o",
          "jsonpath={.webhooks[0].rules[?(@.apiGroups[0]=='apps.kruise.io')].resources}",
        ]);
        return r.stdout === '["clonesets"]';
      },
      30_000,
    );
  });

  it("keeps one webhook configuration, named from the config", async () => {
    const r = await cp.kubectl(["get", "validatingwebhookconfigurations", "-o", "name"]);
    expect(r).toEqual({
      code: 0,
      stdout: `validatingwebhookconfiguration.admissionregistration.k8s.io/${WEBHOOK_CONFIGURATION}\n`,
      stderr: "",
    });
  });
});
