/**
 * Issue 15: the Helm chart against the real kube-apiserver of the e2e harness, with the real helm
 * (built from its Go module by scripts/helm.sh, cached). There is no kubelet, controller-manager or
 * kube-proxy, so the chart's Pods never run. The Services' ClusterIPs come from a loopback range
 * instead, so the apiserver's calls to the chart's Service stay on this machine: refused while
 * nothing listens there (the image that never starts), answered once tollgate is started locally
 * on the Service's ClusterIP and port, exactly where the chart's webhook configuration points.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dump, load } from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHART_DIR, type Helm, helmRunner, run } from "../charts/helm.js";
import {
  type ControlPlane,
  eventually,
  freePorts,
  type KubectlResult,
  startControlPlane,
} from "./controlplane.js";
import { compliantPod, rootPod, rootPodDenialStderr } from "./manifests.js";
import { startTollgate, TOLLGATE_MAIN, type Tollgate, waitForWebhook } from "./tollgate.js";

// A cold run builds the control plane (7-11 min) and helm (about 5 min) on 2 cores.
const BUILD_AND_START_TIMEOUT_MS = 45 * 60 * 1000;

const RELEASE = "tollgate";
const NAMESPACE = "tollgate";
const WEBHOOK = "tollgate";
const MODE = "tollgate.dev/mode";
const ENTRIES = [
  "enforce.tollgate.dev",
  "warn.tollgate.dev",
  "default.tollgate.dev",
  "cluster.tollgate.dev",
  "namespaces.tollgate.dev",
];
/** Services get ClusterIPs from here, so that a call to one can only ever reach this machine. */
const SERVICE_RANGE = "127.77.0.0/24";
/** A policy on a kind no built-in rule judges, shipped through the chart's policyFiles. */
const NO_NODEPORT_POLICY = `# Services are never NodePort.
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: { name: no-nodeport }
spec:
  matchConstraints:
    resourceRules:
      - { apiGroups: [""], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [services] }
  validations:
    - expression: "object.spec.?type.orValue('ClusterIP') != 'NodePort'"
      messageExpression: "'Service ' + object.metadata.namespace + '/' + object.metadata.name + ' is a NodePort'"
`;

const suffix = randomBytes(3).toString("hex");
const ns = (scenario: string): string => `${scenario}-${suffix}`;

let cp: ControlPlane;
let helm: Helm;
let env: Record<string, string>;
/** The Service port the release uses: a free high one, so the test needs no root for 443. */
let servicePort: number;
let tollgate: Tollgate | undefined;
/** The chart Service's ClusterIP, where tollgate listens while it runs. */
let clusterIp: string;

interface Entry {
  name: string;
  failurePolicy?: string;
  clientConfig: { caBundle?: string; service?: { namespace: string; name: string; port: number } };
}

async function webhookEntries(): Promise<Entry[]> {
  const r = await cp.kubectl(["get", "validatingwebhookconfiguration", WEBHOOK, "-o", "json"]);
  expect(r.stderr).toBe("");
  return (JSON.parse(r.stdout) as { webhooks: Entry[] }).webhooks;
}

async function installedConfig(): Promise<Record<string, unknown>> {
  const r = await cp.kubectl(["get", "configmap", "tollgate-config", "-n", NAMESPACE, "-o", "json"]);
  expect(r.stderr).toBe("");
  const data = (JSON.parse(r.stdout) as { data: Record<string, string> }).data;
  expect(Object.keys(data)).toEqual(["tollgate.yaml"]);
  return load(data["tollgate.yaml"] ?? "") as Record<string, unknown>;
}

function apply(namespace: string, manifest: string): Promise<KubectlResult> {
  return cp.kubectl(["apply", "-n", namespace, "-f", "-"], { input: manifest });
}

/** What must work whatever state tollgate is in: a Secret anywhere, a Pod in kube-system. */
async function expectClusterCanHeal(namespace: string, name: string): Promise<void> {
  const secret = await cp.kubectl([
    "create",
    "secret",
    "generic",
    name,
    "-n",
    namespace,
    "--from-literal=k=v",
  ]);
  expect(secret).toEqual({ code: 0, stdout: `secret/${name} created\n`, stderr: "" });
  const pod = await apply("kube-system", rootPod(name));
  expect(pod).toEqual({ code: 0, stdout: `pod/${name} created\n`, stderr: "" });
}

describe("charts/tollgate with helm against a real kube-apiserver", () => {
  beforeAll(async () => {
    [helm, cp] = await Promise.all([
      helmRunner(),
      startControlPlane({ extraApiserverArgs: [`--service-cluster-ip-range=${SERVICE_RANGE}`] }),
    ]);
    env = { KUBECONFIG: cp.adminKubeconfig };
    [servicePort] = (await freePorts(1)) as [number];
    // No controller creates ServiceAccounts here; the kube-system Pods below need the default one.
    const sa = await cp.kubectl(["create", "serviceaccount", "default", "-n", "kube-system"]);
    expect(sa.stderr).toBe("");
  }, BUILD_AND_START_TIMEOUT_MS);

  afterAll(async () => {
    await tollgate?.stop();
    await cp?.stop();
    helm?.cleanup();
  });

  it("passes `helm lint --strict` with no warning", async () => {
    const r = await helm(["lint", "--strict", CHART_DIR]);
    expect(r).toEqual({
      code: 0,
      // No icon exists for tollgate; an icon is the one recommendation lint makes.
      stdout: `==> Linting ${CHART_DIR}\n[INFO] Chart.yaml: icon is recommended\n\n1 chart(s) linted, 0 chart(s) failed\n`,
      stderr: "",
    });
  });

  it("renders manifests in which `tollgate check -` finds nothing, in enforce mode", async () => {
    const template = await helm(["template", RELEASE, CHART_DIR, "--namespace", NAMESPACE]);
    expect(template.code).toBe(0);
    const check = await run(process.execPath, [TOLLGATE_MAIN, "check", "-", "--output", "json"], {
      input: template.stdout,
    });
    expect(check.stderr).toBe("");
    expect(check.code).toBe(0);
    expect((JSON.parse(check.stdout) as { findings: unknown[] }).findings).toEqual([]);
    const text = await run(process.execPath, [TOLLGATE_MAIN, "check", "-"], { input: template.stdout });
    expect(text).toEqual({
      code: 0,
      stdout:
        "no findings in 7 objects in 1 file (enforce mode)\n" +
        "7 objects not covered: NetworkPolicy (networking.k8s.io/v1) x2, PodDisruptionBudget (policy/v1),\n" +
        "  ConfigMap (v1) x2, Service (v1), ValidatingWebhookConfiguration (admissionregistration.k8s.io/v1)\n",
      stderr: "",
    });
  });

  it("refuses a misspelt value with helm's schema error and installs nothing", async () => {
    const r = await helm(
      ["install", RELEASE, CHART_DIR, "--namespace", NAMESPACE, "--create-namespace", "--set", "replica=3"],
      { env },
    );
    expect(r).toEqual({
      code: 1,
      stdout: "",
      stderr:
        "Error: INSTALLATION FAILED: values don't meet the specifications of the schema(s) in the following chart(s):\n" +
        "tollgate:\n- at '': additional properties 'replica' not allowed\n\n",
    });
    const list = await helm(["list", "--all-namespaces", "--short"], { env });
    expect(list).toEqual({ code: 0, stdout: "", stderr: "" });
  });

  it("installs with the operator's config; the webhook configuration ships with Ignore and no caBundle", async () => {
    const r = await helm(
      [
        "install",
        RELEASE,
        CHART_DIR,
        "--namespace",
        NAMESPACE,
        "--create-namespace",
        "--set",
        "config.defaultMode=enforce",
        "--set-json",
        'config.policyAdmins.users=["ops-lead"]',
        "--set",
        `webhook.port=${servicePort}`,
      ],
      { env },
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("STATUS: deployed\n");
    expect(r.stdout).toContain("kubectl label namespace <team-namespace> tollgate.dev/mode=warn\n");
    expect(r.stdout).toContain("     tollgate audit\n");

    const entries = await webhookEntries();
    expect(entries.map((e) => [e.name, e.failurePolicy, e.clientConfig])).toEqual(
      ENTRIES.map((name) => [
        name,
        "Ignore",
        { service: { namespace: NAMESPACE, name: "tollgate", port: servicePort, path: expect.any(String) } },
      ]),
    );
    const config = await installedConfig();
    expect(config).toMatchObject({
      defaultMode: "enforce",
      policyAdmins: { users: ["ops-lead"], groups: ["system:masters"], serviceAccounts: [] },
      excludedNamespaces: ["kube-system", "kube-node-lease", "kube-public", NAMESPACE],
      webhook: {
        name: WEBHOOK,
        namespace: NAMESPACE,
        service: "tollgate",
        port: servicePort,
        failurePolicy: "Fail",
        timeoutSeconds: 3,
      },
    });
  });

  it("with tollgate not running, a Namespace, a Secret, a kube-system Pod and a Pod in an enforce namespace are all admitted", async () => {
    // Each goes to the chart's Service, where nothing listens: refused, and Ignore lets it through.
    const namespace = ns("created");
    const created = await cp.kubectl(["create", "namespace", namespace]);
    expect(created).toEqual({ code: 0, stdout: `namespace/${namespace} created\n`, stderr: "" });
    await cp.kubectl(["create", "serviceaccount", "default", "-n", namespace]);
    await expectClusterCanHeal(namespace, "down-before");

    const enforced = ns("enforced");
    await cp.createNamespace(enforced, { [MODE]: "enforce" });
    const pod = await apply(enforced, rootPod("web"));
    expect(pod).toEqual({ code: 0, stdout: "pod/web created\n", stderr: "" });
  });

  it("`helm upgrade --reuse-values` with a changed value keeps the operator's config", async () => {
    const r = await helm(
      ["upgrade", RELEASE, CHART_DIR, "--namespace", NAMESPACE, "--reuse-values", "--set", "replicas=3"],
      { env },
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("REVISION: 2\n");

    const replicas = await cp.kubectl([
      "get",
      "deployment",
      "tollgate",
      "-n",
      NAMESPACE,
      "-o",
      "jsonpath={.spec.replicas}",
    ]);
    expect(replicas).toEqual({ code: 0, stdout: "3", stderr: "" });
    expect(await installedConfig()).toMatchObject({
      defaultMode: "enforce",
      policyAdmins: { users: ["ops-lead"], groups: ["system:masters"], serviceAccounts: [] },
    });
  });

  it("serves through the chart's webhook configuration once tollgate registers itself; an upgrade keeps the registration", async () => {
    const service = await cp.kubectl([
      "get",
      "service",
      "tollgate",
      "-n",
      NAMESPACE,
      "-o",
      "jsonpath={.spec.clusterIP}",
    ]);
    expect(service.stdout).toMatch(/^127\.77\.0\.\d+$/);
    clusterIp = service.stdout;
    const config = await cp.kubectl([
      "get",
      "configmap",
      "tollgate-config",
      "-n",
      NAMESPACE,
      "-o",
      'go-template={{index .data "tollgate.yaml"}}',
    ]);
    expect(config.code).toBe(0);
    // The chart's config as the Pod would mount it; tollgate listens where the Service points.
    tollgate = await startTollgate(cp, {
      config: config.stdout,
      serviceAddress: clusterIp,
      port: servicePort,
    });

    // tollgate publishes its CA in the chart's configuration (it may only patch it) and sets its
    // failurePolicy on every entry but the namespaces one, which stays Ignore whatever the config.
    await eventually("caBundle and failurePolicy published", async () =>
      (await webhookEntries()).every(
        (e) =>
          (e.clientConfig.caBundle ?? "") !== "" &&
          e.failurePolicy === (e.name === "namespaces.tollgate.dev" ? "Ignore" : "Fail"),
      ),
    );
    await waitForWebhook(cp);
    const before = await webhookEntries();
    const certificates = async (): Promise<string> => {
      const r = await cp.kubectl([
        "get",
        "secret",
        "tollgate-certs",
        "-n",
        NAMESPACE,
        "-o",
        "jsonpath={.data}",
      ]);
      expect(r.stderr).toBe("");
      return r.stdout;
    };
    const stored = await certificates();
    expect(Object.keys(JSON.parse(stored) as Record<string, string>).length).toBeGreaterThan(0);

    const namespace = ns("served");
    await cp.createNamespace(namespace, { [MODE]: "enforce" });
    const denied = await apply(namespace, rootPod("web"));
    expect(denied).toEqual({ code: 1, stdout: "", stderr: rootPodDenialStderr(namespace, "web") });

    // Neither the three-way merge nor server-side apply may put Ignore back or drop the caBundle.
    const upgrade = await helm(
      ["upgrade", RELEASE, CHART_DIR, "--namespace", NAMESPACE, "--reuse-values", "--set", "replicas=2"],
      { env },
    );
    expect(upgrade.stderr).toBe("");
    expect(upgrade.code).toBe(0);
    const after = await webhookEntries();
    expect(after.map((e) => [e.name, e.failurePolicy, e.clientConfig.caBundle])).toEqual(
      before.map((e) => [
        e.name,
        e.name === "namespaces.tollgate.dev" ? "Ignore" : "Fail",
        e.clientConfig.caBundle,
      ]),
    );
    // The chart's Secret carries no data, so the upgrade leaves the certificates tollgate stored.
    expect(await certificates()).toBe(stored);
    const admitted = await apply(namespace, compliantPod("web"));
    expect(admitted.code).toBe(0);
  });

  it("ships policyFiles in the ConfigMap tollgate-policies; tollgate serves them and widens its webhook to Services", async () => {
    const policyFile = join(cp.dir, "no-nodeport.yaml");
    writeFileSync(policyFile, NO_NODEPORT_POLICY);
    const upgrade = await helm(
      [
        "upgrade",
        RELEASE,
        CHART_DIR,
        "--namespace",
        NAMESPACE,
        "--reuse-values",
        "--set-file",
        `policyFiles.no-nodeport\\.yaml=${policyFile}`,
      ],
      { env },
    );
    expect(upgrade.stderr).toBe("");
    expect(upgrade.code).toBe(0);
    const stored = await cp.kubectl(["get", "configmap", "tollgate-policies", "-n", NAMESPACE, "-o", "json"]);
    expect(stored.stderr).toBe("");
    const files = (JSON.parse(stored.stdout) as { data: Record<string, string> }).data;
    expect(files).toEqual({ "no-nodeport.yaml": NO_NODEPORT_POLICY });
    const config = await installedConfig();
    expect(config.policies).toEqual(["/etc/tollgate-policies"]);

    // The two ConfigMaps as the Pod would mount them: the policies' folder where the config says.
    const mount = join(cp.dir, "tollgate-policies");
    mkdirSync(mount, { recursive: true });
    for (const [name, text] of Object.entries(files)) writeFileSync(join(mount, name), text);
    await tollgate?.stop();
    tollgate = await startTollgate(cp, {
      config: dump({ ...config, policies: [mount] }),
      serviceAddress: clusterIp,
      port: servicePort,
    });
    // Registration widens the chart's rules to what the policy selects.
    await eventually(
      "services in the webhook's rules",
      async () => {
        const r = await cp.kubectl(["get", "validatingwebhookconfiguration", WEBHOOK, "-o", "json"]);
        const entries = (
          JSON.parse(r.stdout) as { webhooks: { name: string; rules: { resources: string[] }[] }[] }
        ).webhooks;
        return entries
          .filter((e) => e.name === "enforce.tollgate.dev")
          .every((e) => e.rules.some((rule) => rule.resources.includes("services")));
      },
      30_000,
    );
    await waitForWebhook(cp);
    const namespace = ns("policies");
    await cp.createNamespace(namespace, { [MODE]: "enforce" });
    const service = (type: string) =>
      `apiVersion: v1\nkind: Service\nmetadata: {name: web-${type.toLowerCase()}}\nspec:\n  type: ${type}\n  selector: {app: web}\n  ports: [{port: 80}]\n`;
    await eventually(
      "the NodePort Service denied",
      async () => (await apply(namespace, service("NodePort"))).code === 1,
    );
    const denied = await apply(namespace, service("NodePort"));
    expect(denied.stderr).toContain("no-nodeport");
    expect(denied.stderr).toContain(`Service ${namespace}/web-nodeport is a NodePort`);
    const admitted = await apply(namespace, service("ClusterIP"));
    expect(admitted).toEqual({ code: 0, stdout: "service/web-clusterip created\n", stderr: "" });
  });

  it("once registered with Fail and then down, refuses what it covers; Secrets and kube-system still work", async () => {
    const namespace = ns("down-after");
    await cp.createNamespace(namespace, { [MODE]: "enforce" });
    expect(await tollgate?.stop()).toBe(0);
    tollgate = undefined;

    /** kubectl's error when the apiserver cannot call `entry` at the Service. */
    const refused = (entry: string, path: string, when: string): string =>
      `Error from server (InternalError): ${when}Internal error occurred: failed calling webhook "${entry}": ` +
      `failed to call webhook: Post "https://tollgate.tollgate.svc:${servicePort}${path}?timeout=3s": ` +
      `dial tcp ${clusterIp}:${servicePort}: connect: connection refused\n`;
    const pod = await apply(namespace, rootPod("web"));
    expect(pod).toEqual({
      code: 1,
      stdout: "",
      stderr: refused("enforce.tollgate.dev", "/validate/enforce", 'error when creating "STDIN": '),
    });
    // A plain Namespace never waits on tollgate (the namespaces entry is always Ignore); setting
    // its mode label goes to the cluster-wide entry, fail-closed, which is what Fail asks for.
    const plain = ns("plain");
    expect(await cp.kubectl(["create", "namespace", plain])).toEqual({
      code: 0,
      stdout: `namespace/${plain} created\n`,
      stderr: "",
    });
    const relabel = await cp.kubectl(["label", "namespace", plain, `${MODE}=off`]);
    expect(relabel).toEqual({
      code: 1,
      stdout: "",
      stderr: refused("cluster.tollgate.dev", "/validate", ""),
    });
    await expectClusterCanHeal(namespace, "down-after");
  });

  it("`helm uninstall` deletes the webhook configuration before the Deployment, and leaves no object of the release", async () => {
    const manifest = await helm(["get", "manifest", RELEASE, "--namespace", NAMESPACE], { env });
    expect(manifest.code).toBe(0);
    const objects = manifest.stdout
      .split(/^---$/m)
      .map((doc) => load(doc) as { kind: string; metadata: { name: string; namespace?: string } } | undefined)
      .filter((o) => o !== undefined && o !== null);
    expect(objects.map((o) => o.kind).sort()).toEqual([
      "ClusterRole",
      "ClusterRoleBinding",
      "ConfigMap",
      "ConfigMap",
      "Deployment",
      "NetworkPolicy",
      "NetworkPolicy",
      "PodDisruptionBudget",
      "Role",
      "RoleBinding",
      "Secret",
      "Service",
      "ServiceAccount",
      "ValidatingWebhookConfiguration",
    ]);

    const r = await helm(["uninstall", RELEASE, "--namespace", NAMESPACE, "--debug"], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`release "${RELEASE}" uninstalled\n`);
    // helm logs each delete as it starts, in the order it deletes.
    const deletes = [...r.stderr.matchAll(/starting delete resource.*?kind=(\w+)/g)].map((m) => m[1]);
    expect(deletes[0]).toBe("ValidatingWebhookConfiguration");
    expect(deletes.indexOf("Deployment")).toBeGreaterThan(0);

    const webhooks = await cp.kubectl(["get", "validatingwebhookconfigurations", "-o", "name"]);
    expect(webhooks).toEqual({ code: 0, stdout: "", stderr: "" });
    for (const o of objects) {
      const where = o.metadata.namespace ? ["-n", o.metadata.namespace] : [];
      const get = await cp.kubectl(["get", o.kind, o.metadata.name, ...where, "-o", "name"]);
      expect({ object: `${o.kind} ${o.metadata.name}`, code: get.code, stderr: get.stderr }).toEqual({
        object: `${o.kind} ${o.metadata.name}`,
        code: 1,
        stderr: expect.stringMatching(/\(NotFound\)/),
      });
    }
    const list = await helm(["list", "--all-namespaces", "--short"], { env });
    expect(list).toEqual({ code: 0, stdout: "", stderr: "" });

    // Nothing is left to call: the Pod tollgate down had refused is admitted now.
    const namespace = ns("after-uninstall");
    await cp.createNamespace(namespace, { [MODE]: "enforce" });
    const pod = await apply(namespace, rootPod("web"));
    expect(pod).toEqual({ code: 0, stdout: "pod/web created\n", stderr: "" });
  });
});
