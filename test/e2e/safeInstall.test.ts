/**
 * Issue 15: an install that cannot lock the cluster, against the real kube-apiserver of the harness.
 *
 * The shipped kustomize base (manifests/) is applied through an operator's overlay that replaces
 * the config and points the webhook at a local URL. The harness has no kubelet, so the Deployment
 * never runs a Pod: that is "tollgate not running", and nothing may be blocked. Then the built CLI
 * runs `serve --bootstrap --webhook-url` against that configuration, as a replica would: once ready
 * it has registered (caBundle, failurePolicy Fail), and once stopped the cluster fails closed only
 * where it must. A re-apply resets the policy to Ignore and the running tollgate puts it back; a
 * `serve` whose port is taken exits at once and writes nothing.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join, relative } from "node:path";
import { dump, load } from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ControlPlane,
  freePorts,
  type KubectlResult,
  REPO_ROOT,
  startControlPlane,
} from "./controlplane.js";
import { compliantPod, rootPod, rootPodDenialStderr } from "./manifests.js";
import {
  startTollgate,
  TOLLGATE_MAIN,
  type Tollgate,
  WEBHOOK_CONFIGURATION,
  waitForWebhook,
} from "./tollgate.js";

/** A policy the operator's overlay merges into the base's ConfigMap tollgate-policies. */
const OVERLAY_POLICY = `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: { name: require-team-label }
spec:
  matchConstraints:
    resourceRules:
      - { apiGroups: [apps], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [deployments] }
  validations:
    - expression: "'team' in object.metadata.?labels.orValue({})"
      message: "a Deployment carries a team label"
`;

const BUILD_AND_START_TIMEOUT_MS = 45 * 60 * 1000;
const MODE = "tollgate.dev/mode";
/** tollgate's registration check in these tests, instead of 60 s. */
const CHECK_INTERVAL_S = 3;
/** The entries' failurePolicy once tollgate registered: enforce, warn, default, cluster, namespaces. */
const REGISTERED = ["Fail", "Fail", "Fail", "Fail", "Ignore"];
const SHIPPED = ["Ignore", "Ignore", "Ignore", "Ignore", "Ignore"];
const suffix = randomBytes(3).toString("hex");
const ns = (scenario: string): string => `${scenario}-${suffix}`;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

let cp: ControlPlane;
let tollgate: Tollgate | undefined;
/** Where the overlay points the webhook, and where the local tollgate listens. */
let port: number;
let metricsPort: number;
let overlay: string;
/** The operator's config: the base's, with a change of their own. */
let operatorConfig: string;
const enforced = ns("enforced");

interface Webhook {
  name: string;
  failurePolicy: string;
  clientConfig: { caBundle?: string; url?: string; service?: { path?: string } };
}

async function webhooks(): Promise<Webhook[] | undefined> {
  const r = await cp.kubectl(["get", "validatingwebhookconfigurations", WEBHOOK_CONFIGURATION, "-o", "json"]);
  if (r.code !== 0) {
    expect(r.stderr).toMatch(/\(NotFound\)/);
    return undefined;
  }
  return (JSON.parse(r.stdout) as { webhooks: Webhook[] }).webhooks;
}

async function policies(): Promise<string[] | undefined> {
  return (await webhooks())?.map((w) => w.failurePolicy);
}

/**
 * An operator's overlay of the shipped base: their own tollgate.yaml (`behavior: replace`), and the
 * webhook pointed at a URL on this machine, since the harness has no Pods behind the Service.
 */
function writeOverlay(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const base = join(REPO_ROOT, "manifests");
  const shipped = load(readFileSync(join(base, "validatingwebhookconfiguration-tollgate.yaml"), "utf8")) as {
    webhooks: Webhook[];
  };
  const patch = shipped.webhooks.map((webhook, index) => ({
    op: "replace",
    path: `/webhooks/${index}/clientConfig`,
    value: { url: `https://127.0.0.1:${port}${webhook.clientConfig.service?.path ?? ""}` },
  }));
  writeFileSync(join(dir, "tollgate.yaml"), operatorConfig);
  mkdirSync(join(dir, "policies"), { recursive: true });
  writeFileSync(join(dir, "policies", "require-team-label.yaml"), OVERLAY_POLICY);
  writeFileSync(
    join(dir, "kustomization.yaml"),
    dump({
      apiVersion: "kustomize.config.k8s.io/v1beta1",
      kind: "Kustomization",
      resources: [relative(dir, base)],
      configMapGenerator: [
        {
          name: "tollgate-config",
          namespace: "tollgate",
          behavior: "replace",
          files: ["config.yaml=tollgate.yaml"],
        },
        // The operator's policies, merged into the base's empty ConfigMap (docs/install.md).
        {
          name: "tollgate-policies",
          namespace: "tollgate",
          behavior: "merge",
          files: ["policies/require-team-label.yaml"],
        },
      ],
      patches: [
        {
          target: { kind: "ValidatingWebhookConfiguration", name: WEBHOOK_CONFIGURATION },
          patch: JSON.stringify(patch),
        },
      ],
    }),
  );
}

/** What must work whether tollgate runs or not: a Namespace, a Secret, a Pod in kube-system. */
async function expectNeverBlocked(tag: string): Promise<void> {
  const namespace = await cp.kubectl(["create", "namespace", ns(`x-${tag}`)]);
  expect(namespace).toEqual({ code: 0, stdout: `namespace/${ns(`x-${tag}`)} created\n`, stderr: "" });
  const secret = await cp.kubectl([
    "create",
    "secret",
    "generic",
    `y-${tag}`,
    "-n",
    enforced,
    "--from-literal=k=v",
  ]);
  expect(secret).toEqual({ code: 0, stdout: `secret/y-${tag} created\n`, stderr: "" });
  // A Pod tollgate would deny anywhere else: kube-system is left out of every entry.
  const system = await cp.kubectl(["apply", "-n", "kube-system", "-f", "-"], {
    input: rootPod(`healer-${tag}`),
  });
  expect(system).toEqual({ code: 0, stdout: `pod/healer-${tag} created\n`, stderr: "" });
}

function applyPod(manifest: string): Promise<KubectlResult> {
  return cp.kubectl(["apply", "-n", enforced, "-f", "-"], { input: manifest });
}

/** Holds a port as another process would. */
function holdPort(): Promise<{ port: number; server: Server }> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () =>
      resolve({ port: (server.address() as { port: number }).port, server }),
    );
  });
}

/** Runs the built `tollgate serve --bootstrap` to its exit; the time from spawn to exit. */
async function serveUntilExit(
  args: string[],
): Promise<{ code: number | null; stderr: string; elapsedMs: number }> {
  const started = Date.now();
  const child: ChildProcess = spawn(process.execPath, [TOLLGATE_MAIN, "serve", ...args], {
    cwd: cp.dir,
    stdio: ["ignore", "ignore", "pipe"],
  });
  appendPid(child);
  let stderr = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => {
    stderr += chunk;
  });
  const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
  clearTimeout(killer);
  return { code, stderr, elapsedMs: Date.now() - started };
}

/** The control plane's watchdog kills what is listed in `pids` if this process dies outright. */
function appendPid(child: ChildProcess): void {
  if (child.pid !== undefined) writeFileSync(join(cp.dir, "pids"), `${child.pid}\n`, { flag: "a" });
}

/** serve writes its log asynchronously, flushed at least every second: a line shows up shortly. */
async function logShows(file: string, text: string): Promise<boolean> {
  const since = Date.now();
  while (!readFileSync(file, "utf8").includes(text)) {
    if (Date.now() - since > 3_000) return false;
    await new Promise((done) => setTimeout(done, 100));
  }
  return true;
}

describe("an install that cannot lock the cluster (issue 15), behind a real kube-apiserver", () => {
  beforeAll(async () => {
    cp = await startControlPlane();
    [port, metricsPort] = (await freePorts(2)) as [number, number];
    overlay = join(cp.dir, "overlay");
    operatorConfig = readFileSync(join(REPO_ROOT, "manifests", "tollgate.yaml"), "utf8").replace(
      "maxExemptionDays: 90\n",
      "maxExemptionDays: 30\n",
    );
    expect(operatorConfig).toContain("maxExemptionDays: 30\n");
    writeOverlay(overlay);
    await cp.createNamespace(enforced, { [MODE]: "enforce" });
    // No controller-manager creates kube-system's default ServiceAccount, which Pods there need.
    expect((await cp.kubectl(["-n", "kube-system", "create", "serviceaccount", "default"])).code).toBe(0);
  }, BUILD_AND_START_TIMEOUT_MS);

  afterAll(async () => {
    await tollgate?.stop();
    await cp?.stop();
  });

  it("a serve whose --port or --metrics-port is taken exits non-zero within 2 s and writes nothing", async () => {
    // Its own namespace exists, so a serve that went on would have written its Secret and configuration.
    await cp.createNamespace("portcheck");
    const configPath = join(cp.dir, "portcheck.yaml");
    writeFileSync(configPath, "webhook:\n  namespace: portcheck\n");
    for (const flag of ["port", "metrics-port"] as const) {
      const taken = await holdPort();
      const [free] = (await freePorts(1)) as [number];
      const ports = flag === "port" ? [taken.port, free] : [free, taken.port];
      try {
        const run = await serveUntilExit([
          "--bootstrap",
          "--kubeconfig",
          cp.adminKubeconfig,
          "--config",
          configPath,
          "--webhook-url",
          `https://127.0.0.1:${ports[0]}`,
          "--host",
          "127.0.0.1",
          "--port",
          String(ports[0]),
          "--metrics-port",
          String(ports[1]),
        ]);
        expect(run.stderr).toBe(
          `tollgate serve: cannot listen on 127.0.0.1:${taken.port} (--${flag}): the port is already in use (EADDRINUSE); stop what holds it or choose another --${flag}. Nothing was written to the cluster.\n`,
        );
        expect(run.code).toBe(1);
        expect(run.elapsedMs).toBeLessThan(2_000);
      } finally {
        taken.server.close();
      }
    }
    expect(await cp.kubectl(["get", "validatingwebhookconfigurations", "-o", "name"])).toEqual({
      code: 0,
      stdout: "",
      stderr: "",
    });
    const secrets = await cp.kubectl(["-n", "portcheck", "get", "secrets", "-o", "name"]);
    expect(secrets).toEqual({ code: 0, stdout: "", stderr: "" });
  });

  it("applies the base through an overlay that keeps the operator's config; with tollgate not running nothing is blocked", async () => {
    const applied = await cp.kubectl(["apply", "-k", overlay]);
    expect(applied.stderr).toBe("");
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain(
      "validatingwebhookconfiguration.admissionregistration.k8s.io/tollgate created\n",
    );

    // The generated ConfigMap holds the overlay's file, under a hashed name the Deployment mounts.
    const mounted = await cp.kubectl([
      "-n",
      "tollgate",
      "get",
      "deployment",
      "tollgate",
      "-o",
      "jsonpath={.spec.template.spec.volumes[?(@.name=='config')].configMap.name}",
    ]);
    expect(mounted.stdout).toMatch(/^tollgate-config-[a-z0-9]{10}$/);
    const config = await cp.kubectl([
      "-n",
      "tollgate",
      "get",
      "configmap",
      mounted.stdout,
      "-o",
      "jsonpath={.data.config\\.yaml}",
    ]);
    expect(config).toEqual({ code: 0, stdout: operatorConfig, stderr: "" });
    // And the policies' ConfigMap the overlay's files, mounted where the docs say.
    const policyVolume = await cp.kubectl([
      "-n",
      "tollgate",
      "get",
      "deployment",
      "tollgate",
      "-o",
      "jsonpath={.spec.template.spec.volumes[?(@.name=='policies')].configMap.name}{' '}{.spec.template.spec.containers[0].volumeMounts[?(@.name=='policies')].mountPath}",
    ]);
    expect(policyVolume.stdout).toMatch(/^tollgate-policies-[a-z0-9]{10} \/etc\/tollgate-policies$/);
    const policyFiles = await cp.kubectl([
      "-n",
      "tollgate",
      "get",
      "configmap",
      policyVolume.stdout.split(" ")[0]!,
      "-o",
      "jsonpath={.data}",
    ]);
    expect(JSON.parse(policyFiles.stdout)).toEqual({ "require-team-label.yaml": OVERLAY_POLICY });

    const shipped = await webhooks();
    expect(shipped?.map((w) => w.failurePolicy)).toEqual(SHIPPED);
    expect(shipped?.map((w) => w.clientConfig.caBundle)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);

    await expectNeverBlocked("down");
    // Even a Pod tollgate would deny, in an enforce namespace: no tollgate ever registered.
    expect(await applyPod(rootPod("early"))).toEqual({ code: 0, stdout: "pod/early created\n", stderr: "" });
  });

  it("registers once ready (caBundle, Fail), denies, and once stopped refuses only what it covers", async () => {
    tollgate = await startTollgate(cp, {
      port,
      metricsPort,
      config: operatorConfig,
      args: ["--webhook-check-interval", String(CHECK_INTERVAL_S)],
    });
    // Ready means registered: no wait.
    const registered = await webhooks();
    expect(registered?.map((w) => w.failurePolicy)).toEqual(REGISTERED);
    const bundles = new Set(registered?.map((w) => w.clientConfig.caBundle));
    expect(bundles.size).toBe(1);
    expect(Buffer.from([...bundles][0] ?? "", "base64").toString()).toContain("-----BEGIN CERTIFICATE-----");
    // Its writes carry its name, so that a server-side apply's conflict says who holds the field.
    const managers = await cp.kubectl([
      "get",
      "validatingwebhookconfigurations",
      WEBHOOK_CONFIGURATION,
      "-o",
      "jsonpath={.metadata.managedFields[*].manager}",
    ]);
    expect(managers.stdout.split(" ").sort()).toEqual(["kubectl-client-side-apply", "tollgate"]);

    await waitForWebhook(cp);
    expect(await applyPod(rootPod("bad"))).toEqual({
      code: 1,
      stdout: "",
      stderr: rootPodDenialStderr(enforced, "bad"),
    });

    expect(await tollgate.stop()).toBe(0);
    tollgate = undefined;
    expect(await applyPod(compliantPod("refused"))).toEqual({
      code: 1,
      stdout: "",
      stderr:
        `Error from server (InternalError): error when creating "STDIN": Internal error occurred: ` +
        `failed calling webhook "enforce.tollgate.dev": failed to call webhook: ` +
        `Post "https://127.0.0.1:${port}/validate/enforce?timeout=3s": dial tcp 127.0.0.1:${port}: connect: connection refused\n`,
    });
    await expectNeverBlocked("stopped");
  });

  it("a re-apply puts failurePolicy Ignore back; the running tollgate restores Fail within its check interval", async () => {
    tollgate = await startTollgate(cp, {
      port,
      metricsPort,
      config: operatorConfig,
      args: ["--webhook-check-interval", String(CHECK_INTERVAL_S)],
    });
    expect(await policies()).toEqual(REGISTERED);
    const caBundle = (await webhooks())?.[0]?.clientConfig.caBundle;

    // What the apiserver stored right after the apply, as it answered kubectl.
    const reapplied = await cp.kubectl(["apply", "-k", overlay, "-o", "json"]);
    expect(reapplied.code).toBe(0);
    const items = (JSON.parse(reapplied.stdout) as { items: { kind: string; webhooks?: Webhook[] }[] }).items;
    const stored = items.find((item) => item.kind === "ValidatingWebhookConfiguration")!.webhooks!;
    expect(stored.map((w) => w.failurePolicy)).toEqual(SHIPPED);
    // The caBundle is tollgate's, not the manifest's: applying again leaves it alone.
    expect(stored.map((w) => w.clientConfig.caBundle)).toEqual(Array<string | undefined>(5).fill(caBundle));

    const since = Date.now();
    while ((await policies())?.join() !== REGISTERED.join()) {
      if (Date.now() - since > (CHECK_INTERVAL_S + 5) * 1000) {
        throw new Error(`failurePolicy not restored: ${(await policies())?.join()}`);
      }
      await sleep(200);
    }
    expect(Date.now() - since).toBeLessThan((CHECK_INTERVAL_S + 2) * 1000);
    expect(
      await logShows(
        tollgate.logFile,
        '"msg":"webhook registration restored: the configuration differed (manifests applied again?)"',
      ),
    ).toBe(true);
  });

  it("kubectl delete -k removes the webhook configuration, and a running tollgate does not re-create it", async () => {
    const deleted = await cp.kubectl(["delete", "-k", overlay, "--wait=false"]);
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toContain(
      `validatingwebhookconfiguration.admissionregistration.k8s.io "tollgate" deleted`,
    );
    // Longer than a registration check: tollgate sees it gone and leaves it so.
    await sleep((CHECK_INTERVAL_S + 1) * 1000);
    expect(await webhooks()).toBeUndefined();
    expect(
      await logShows(
        tollgate!.logFile,
        "the webhook configuration is gone: tollgate does not re-create it while running",
      ),
    ).toBe(true);
    expect(await applyPod(rootPod("after"))).toEqual({ code: 0, stdout: "pod/after created\n", stderr: "" });
  });
});
