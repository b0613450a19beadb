// Kyverno as the peer of the benchmark (BENCHMARKS.md "Peers / Kyverno"): a manual step, not CI.
//
// Usage: node scripts/bench/kyverno-peer.mjs [--verdicts-only] [--update-doc [--doc-section NAME]] [--rounds N]
//                                            [--seconds S] [--connections C]
//
// Starts the end-to-end control plane (etcd and kube-apiserver on 127.0.0.1, test/e2e/controlplane.ts),
// installs Kyverno's CRDs and its default ConfigMaps from the Go module (the files upstream ships in
// config/), starts Kyverno's admission controller (built by scripts/kyverno.sh) out of cluster with
// --kubeconfig, pinned to core 0, applies the Pod Security "restricted" ClusterPolicy and
// require-requests-limits in Enforce, checks tollgate's and Kyverno's verdicts on the bench bodies and
// on two bodies made to be denied (no requests/limits; root), then runs scripts/bench/run.mjs with
// Kyverno as the peer. Everything it starts listens on 127.0.0.1 only, and is stopped by PID at the
// end, on an error, on SIGINT, or when the deadline (60 min) passes.
//
// Kyverno serves tollgate's bench certificate (.bench/certs, made here with tollgate's own code when
// absent): its cert-manager controller is off (--disableCertManagerController) and the two Secrets it
// reads (the CA, and the serving pair) are created from those files, as a user who brings their own
// certificates does. So one CA checks every server's answers, as run.mjs requires.
//
//   --verdicts-only  stop after the verdict check (no load)
//   --profile S      instead of run.mjs: Kyverno's pprof on 127.0.0.1, a CPU profile of S seconds
//                    while wrk sends the Pod body (32 connections), written to .bench/kyverno.pprof
//                    and, as `go tool pprof -top`, to .bench/kyverno-pprof.txt
//   --update-doc, --doc-section, --rounds, --seconds, --connections: passed to run.mjs
import { execFileSync, spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import yaml from "js-yaml";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const WORK = join(ROOT, ".bench");
const CERTS = join(WORK, "certs");
const FIXTURES = join(ROOT, "test/fixtures/admission");
const HOST = "127.0.0.1";
const NAMESPACE = "kyverno";
const CA_SECRET = "kyverno-svc.kyverno.svc.kyverno-tls-ca";
const TLS_SECRET = "kyverno-svc.kyverno.svc.kyverno-tls-pair";
const BODIES = ["pod-create", "deployment-create", "deployment-update", "clusterrole-create"];
const DEADLINE_MIN = 60;

const { values: flags } = parseArgs({
  options: {
    "verdicts-only": { type: "boolean", default: false },
    profile: { type: "string" },
    "update-doc": { type: "boolean", default: false },
    "doc-section": { type: "string" },
    rounds: { type: "string" },
    seconds: { type: "string" },
    connections: { type: "string" },
  },
});

/** @param {string} line */
const log = (line) => process.stderr.write(`kyverno-peer: ${line}\n`);

// ---------------------------------------------------------------- process bookkeeping

/** @type {Set<import("node:child_process").ChildProcess>} */
const children = new Set();
/** @type {{ stop(): Promise<void> } | undefined} */
let controlPlane;

async function stopEverything() {
  // SIGINT: run.mjs stops its own servers and wrk on it (on SIGTERM it would leave them running);
  // Kyverno and tollgate stop on either.
  for (const child of children) if (child.exitCode === null && child.pid) child.kill("SIGINT");
  const until = Date.now() + 10_000;
  while ([...children].some((c) => c.exitCode === null && c.signalCode === null) && Date.now() < until)
    await new Promise((w) => setTimeout(w, 100));
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  if (controlPlane) await controlPlane.stop();
  controlPlane = undefined;
}

const deadline = setTimeout(() => {
  log(`over the ${DEADLINE_MIN}-minute limit, stopping`);
  void stopEverything().then(() => process.exit(3));
}, DEADLINE_MIN * 60_000);
deadline.unref();
process.once("SIGINT", () => {
  void stopEverything().then(() => process.exit(130));
});

/**
 * @param {string} command
 * @param {string[]} args
 * @param {import("node:child_process").SpawnOptions} [options]
 */
function track(command, args, options = {}) {
  const child = spawn(command, args, { cwd: ROOT, ...options });
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

/** @returns {Promise<number>} a port free on 127.0.0.1 now */
function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, HOST, () => {
      const address = server.address();
      server.close(() => done(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/**
 * @param {string} url
 * @param {string | undefined} body
 * @param {Buffer} ca
 * @returns {Promise<{ status: number | undefined; text: string }>}
 */
function call(url, body, ca) {
  return new Promise((done, fail) => {
    const req = request(
      url,
      {
        method: body === undefined ? "GET" : "POST",
        ca,
        headers: { "content-type": "application/json" },
        timeout: 10_000,
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => {
          if (text.length < 1_000_000) text += chunk;
        });
        res.on("end", () => done({ status: res.statusCode, text }));
      },
    );
    req.once("timeout", () => req.destroy(new Error(`no answer from ${url} in 10 s`)));
    req.once("error", fail);
    req.end(body);
  });
}

/**
 * @param {string} what
 * @param {() => Promise<boolean>} ready
 * @param {number} ms
 * @param {() => boolean} [alive]
 */
async function waitFor(what, ready, ms, alive = () => true) {
  const until = Date.now() + ms;
  for (;;) {
    if (!alive()) throw new Error(`${what}: the process exited`);
    if (await ready().catch(() => false)) return;
    if (Date.now() > until) throw new Error(`${what}: not ready after ${ms / 1000} s`);
    await new Promise((w) => setTimeout(w, 500));
  }
}

/**
 * The last line on stdout of a build script (its output directory); progress goes to our stderr.
 * @param {string} script
 */
function buildScript(script) {
  const out = execFileSync("bash", [join(ROOT, script)], {
    cwd: ROOT,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  const last = out.trim().split("\n").at(-1);
  if (!last) throw new Error(`${script} printed no directory`);
  return last;
}

// ---------------------------------------------------------------- what Kyverno gets

/** The directory of github.com/kyverno/kyverno in the module cache, at the wrapper's version. */
function kyvernoModuleDir() {
  const dir = execFileSync("go", ["list", "-m", "-f", "{{.Dir}}", "github.com/kyverno/kyverno"], {
    cwd: join(ROOT, "scripts/bench/kyverno"),
    encoding: "utf8",
  }).trim();
  if (!existsSync(join(dir, "config/crds"))) throw new Error(`no config/crds in ${dir}`);
  return dir;
}

/**
 * Kyverno's Pod Security rule at level restricted (every control of the restricted profile, baseline
 * included), as in Kyverno's documentation ("podSecurity" validate rule); autogen extends it to the
 * Pod controllers (Deployments among them).
 */
const PSS_RESTRICTED = {
  apiVersion: "kyverno.io/v1",
  kind: "ClusterPolicy",
  metadata: { name: "podsecurity-restricted" },
  spec: {
    background: true,
    rules: [
      {
        name: "restricted",
        match: { any: [{ resources: { kinds: ["Pod"] } }] },
        validate: { failureAction: "Enforce", podSecurity: { level: "restricted", version: "latest" } },
      },
    ],
  },
};

/** After kyverno/policies' best-practices/require-pod-requests-limits, in Enforce. */
const REQUIRE_REQUESTS_LIMITS = {
  apiVersion: "kyverno.io/v1",
  kind: "ClusterPolicy",
  metadata: { name: "require-requests-limits" },
  spec: {
    background: true,
    rules: [
      {
        name: "validate-resources",
        match: { any: [{ resources: { kinds: ["Pod"] } }] },
        validate: {
          failureAction: "Enforce",
          message: "CPU and memory resource requests and memory limits are required for containers.",
          pattern: {
            spec: {
              containers: [
                { resources: { requests: { memory: "?*", cpu: "?*" }, limits: { memory: "?*" } } },
              ],
              "=(initContainers)": [
                { resources: { requests: { memory: "?*", cpu: "?*" }, limits: { memory: "?*" } } },
              ],
              "=(ephemeralContainers)": [
                { resources: { requests: { memory: "?*", cpu: "?*" }, limits: { memory: "?*" } } },
              ],
            },
          },
        },
      },
    ],
  },
};

/**
 * The bodies of the verdict check: the four bench bodies, and two made from the Pod body to be denied
 * by both servers for a known reason.
 * @returns {{ name: string; text: string; expect?: { tollgate: string[]; kyverno: string[] } }[]}
 */
function verdictBodies() {
  const bodies = BODIES.map((name) => ({ name, text: readFileSync(join(FIXTURES, `${name}.json`), "utf8") }));
  const pod = JSON.parse(readFileSync(join(FIXTURES, "pod-create.json"), "utf8"));
  const noResources = JSON.parse(JSON.stringify(pod));
  noResources.request.uid = "00000000-0000-4000-8000-00000000b001";
  for (const c of noResources.request.object.spec.containers) delete c.resources;
  const root = JSON.parse(JSON.stringify(pod));
  root.request.uid = "00000000-0000-4000-8000-00000000b002";
  root.request.object.spec.securityContext.runAsNonRoot = false;
  root.request.object.spec.securityContext.runAsUser = 0;
  return [
    ...bodies,
    {
      name: "pod-no-resources",
      text: JSON.stringify(noResources),
      expect: {
        tollgate: ["container-requests-missing", "container-limits-missing"],
        kyverno: ["require-requests-limits"],
      },
    },
    {
      name: "pod-root",
      text: JSON.stringify(root),
      expect: { tollgate: ["run-as-root"], kyverno: ["podsecurity-restricted"] },
    },
  ];
}

/**
 * What a server concluded, and why: the rule (tollgate) or policy (Kyverno) names in its message.
 * @param {string} server
 * @param {string} text
 */
function verdictOf(server, text) {
  const review = JSON.parse(text);
  const r = review.response ?? {};
  const message = String(r.status?.message ?? "");
  const names =
    server === "tollgate"
      ? [...new Set([...message.matchAll(/^- ([a-z0-9-]+):/gm)].map((m) => m[1] ?? ""))]
      : [PSS_RESTRICTED, REQUIRE_REQUESTS_LIMITS]
          .map((p) => p.metadata.name)
          .filter((name) => message.includes(name));
  return {
    allowed: r.allowed === true,
    warnings: Array.isArray(r.warnings) ? r.warnings.length : 0,
    reasons: names,
    message: message.slice(0, 2000),
  };
}

// ---------------------------------------------------------------- main

async function main() {
  if (!existsSync(join(ROOT, "dist/src/main.js")))
    throw new Error("dist/src/main.js is missing: npm run build");
  mkdirSync(join(WORK, "answers"), { recursive: true });

  log("building the harness (tsc -p tsconfig.e2e.json)");
  execFileSync(join(ROOT, "node_modules/.bin/tsc"), ["-p", "tsconfig.e2e.json"], {
    cwd: ROOT,
    stdio: "inherit",
  });
  const kyvernoDir = buildScript("scripts/kyverno.sh");
  const kyverno = join(kyvernoDir, "kyverno");
  const moduleDir = kyvernoModuleDir();

  // tollgate's bench certificate, made by tollgate's own code when absent (run.mjs keeps it).
  const { ensureLocalCertificates } = await import(join(ROOT, "dist/src/tls/certs.js"));
  await ensureLocalCertificates(CERTS);
  const ca = readFileSync(join(CERTS, "ca.crt"));

  // This process drains Kyverno's log pipe: keep it off Kyverno's core, as run.mjs keeps itself off
  // tollgate's (after the builds, which may use both cores).
  execFileSync("taskset", ["-a", "-p", "-c", "1", String(process.pid)], { stdio: "ignore" });
  const { startControlPlane } = await import(join(ROOT, "dist-e2e/test/e2e/controlplane.js"));
  log("starting etcd and kube-apiserver on 127.0.0.1");
  const cp = await startControlPlane();
  controlPlane = cp;
  log(`control plane ${cp.kubernetesVersion} at ${cp.apiserverUrl}`);
  // The control plane shares core 1 with wrk and the drivers; core 0 is the servers'.
  const cpPids = readFileSync(join(cp.dir, "pids"), "utf8").trim().split("\n").filter(Boolean);
  for (const pid of cpPids) execFileSync("taskset", ["-a", "-p", "-c", "1", pid], { stdio: "ignore" });

  /** @param {string[]} args @param {string} [input] */
  const kubectl = async (args, input) => {
    const r = await cp.kubectl(args, { input, timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr.slice(0, 2000)}`);
    return r.stdout;
  };

  // Kyverno's CRDs, as upstream ships them (config/crds), server-side (some are over the
  // client-side apply annotation's size limit).
  const crdDirs = ["kyverno", "policies.kyverno.io", "policyreport", "reports"].map((d) =>
    join(moduleDir, "config/crds", d),
  );
  for (const dir of crdDirs) {
    for (const f of readdirSync(dir).filter((n) => n.endsWith(".yaml")))
      await kubectl(["apply", "--server-side", "-f", join(dir, f)]);
  }
  await kubectl(["wait", "--for=condition=Established", "--timeout=60s", "crd", "--all"]);
  log("Kyverno CRDs installed");

  await cp.createNamespace(NAMESPACE);
  for (const ns of ["team-a", "team-b"]) await cp.createNamespace(ns);
  // Its two ConfigMaps, with upstream's default data (config/install-latest-testing.yaml).
  const install = /** @type {{ kind?: string; metadata?: { name?: string; namespace?: string } }[]} */ (
    yaml.loadAll(readFileSync(join(moduleDir, "config/install-latest-testing.yaml"), "utf8"))
  );
  const configMaps = install.filter(
    (d) =>
      d?.kind === "ConfigMap" &&
      d.metadata?.namespace === NAMESPACE &&
      ["kyverno", "kyverno-metrics"].includes(d.metadata?.name ?? ""),
  );
  if (configMaps.length !== 2)
    throw new Error("the kyverno and kyverno-metrics ConfigMaps are not in the install manifest");
  await kubectl(["apply", "-f", "-"], configMaps.map((d) => yaml.dump(d)).join("---\n"));
  // The certificate Secrets it reads, from tollgate's bench certificate (the CA's key stays out).
  const caSecret = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: CA_SECRET, namespace: NAMESPACE },
    type: "Opaque",
    data: { "tls.crt": ca.toString("base64") },
  };
  const tlsSecret = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: TLS_SECRET, namespace: NAMESPACE },
    type: "kubernetes.io/tls",
    data: {
      "tls.crt": readFileSync(join(CERTS, "tls.crt")).toString("base64"),
      "tls.key": readFileSync(join(CERTS, "tls.key")).toString("base64"),
    },
  };
  await kubectl(
    ["apply", "-f", "-"],
    JSON.stringify({ apiVersion: "v1", kind: "List", items: [caSecret, tlsSecret] }),
  );

  const profileSeconds = flags.profile === undefined ? undefined : Number(flags.profile);
  if (
    profileSeconds !== undefined &&
    !(Number.isInteger(profileSeconds) && profileSeconds >= 1 && profileSeconds <= 120)
  )
    throw new Error(`--profile ${flags.profile}: whole seconds from 1 to 120`);
  const [port, metricsPort, profilePort] = [await freePort(), await freePort(), await freePort()];
  // The admission controller's arguments in upstream's install manifest, but for what running out of
  // cluster and on loopback needs (marked).
  const args = [
    `--kubeconfig=${cp.adminKubeconfig}`, // out of cluster
    `--caSecretName=${CA_SECRET}`,
    `--tlsSecretName=${TLS_SECRET}`,
    "--disableCertManagerController=true", // serves the bench certificate (above)
    "--backgroundServiceAccountName=system:serviceaccount:kyverno:kyverno-background-controller",
    "--reportsServiceAccountName=system:serviceaccount:kyverno:kyverno-reports-controller",
    `--serverIP=${HOST}:${port}`, // out of cluster: the webhooks' URL is https://<serverIP><path>
    `--servicePort=${port}`,
    `--webhookServerHost=${HOST}`, // loopback (default: every interface)
    `--webhookServerPort=${port}`,
    "--resyncPeriod=15m",
    "--crdWatcher=false",
    "--disableMetrics=false",
    "--otelConfig=prometheus",
    `--metricsHost=${HOST}`, // loopback (default: every interface)
    `--metricsPort=${metricsPort}`,
    "--admissionReports=true",
    "--maxAdmissionReports=1000",
    "--autoUpdateWebhooks=true",
    "--excludeBootstrapResources=false",
    "--enableConfigMapCaching=true",
    "--controllerRuntimeMetricsAddress=0", // off (upstream: :8080)
    "--enableDeferredLoading=true",
    "--dumpPayload=false",
    "--forceFailurePolicyIgnore=false",
    "--generateValidatingAdmissionPolicy=true",
    "--generateMutatingAdmissionPolicy=false",
    "--dumpPatches=false",
    "--maxAPICallResponseLength=2000000",
    "--apiCallTimeout=30s",
    "--maxGlobalContextEntries=0",
    "--loggingFormat=text",
    "--v=2",
    "--omitEvents=PolicyApplied,PolicySkipped",
    "--enablePolicyException=false",
    "--protectManagedResources=false",
    "--allowInsecureRegistry=false",
    "--enableReporting=validate,mutate,mutateExisting,imageVerify,generate",
    ...(profileSeconds === undefined
      ? ["--profile=false"] // its pprof listener stays off (the default)
      : ["--profile=true", `--profileAddress=${HOST}`, `--profilePort=${profilePort}`]),
  ];
  const env = {
    ...process.env,
    KYVERNO_NAMESPACE: NAMESPACE,
    KYVERNO_SERVICEACCOUNT_NAME: "kyverno-admission-controller",
    KYVERNO_ROLE_NAME: "kyverno:admission-controller",
    KYVERNO_DEPLOYMENT: "kyverno-admission-controller",
    KYVERNO_POD_NAME: "kyverno-admission-controller-bench",
    KYVERNO_SVC: "kyverno-svc",
    INIT_CONFIG: "kyverno",
    METRICS_CONFIG: "kyverno-metrics",
  };
  const kyvernoLog = join(WORK, "kyverno.log");
  const logFile = createWriteStream(kyvernoLog);
  let logBytes = 0;
  let logLines = 0;
  log(
    `starting kyverno on ${HOST}:${port} (metrics ${HOST}:${metricsPort}), pinned to core 0; log ${kyvernoLog}`,
  );
  const child = track("taskset", ["-c", "0", kyverno, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  // Its log goes to a pipe this script drains, as a container runtime does; the first 20 MB are kept.
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on("data", (/** @type {Buffer} */ chunk) => {
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) logLines++;
      if (logBytes < 20e6) logFile.write(chunk);
      logBytes += chunk.length;
    });
  }
  const alive = () => child.exitCode === null && child.signalCode === null;
  await waitFor(
    "kyverno readiness",
    async () => (await call(`https://${HOST}:${port}/health/readiness`, undefined, ca)).status === 200,
    180_000,
    alive,
  );
  log("kyverno is ready");
  // Every socket it listens on must be on loopback.
  const listening = execFileSync("ss", ["-ltnpH"], { encoding: "utf8" })
    .split("\n")
    .filter((l) => l.includes(`pid=${child.pid},`))
    .map((l) => l.trim().split(/\s+/)[3] ?? "");
  if (listening.length === 0 || listening.some((a) => !a.startsWith(`${HOST}:`)))
    throw new Error(`kyverno listens on ${listening.join(", ") || "nothing"}: loopback only`);
  log(`kyverno listens on ${listening.join(", ")}`);

  await kubectl(
    ["apply", "-f", "-"],
    JSON.stringify({ apiVersion: "v1", kind: "List", items: [PSS_RESTRICTED, REQUIRE_REQUESTS_LIMITS] }),
  );
  await kubectl([
    "wait",
    "--for=condition=Ready",
    "--timeout=180s",
    "clusterpolicy/podsecurity-restricted",
    "clusterpolicy/require-requests-limits",
  ]);
  log("both ClusterPolicies are Ready");
  // Through the apiserver too: it calls Kyverno's webhook (on loopback) for a Pod that runs as root
  // with no requests or limits.
  const { rootPod } = await import(join(ROOT, "dist-e2e/test/e2e/manifests.js"));
  const create = await cp.kubectl(["create", "-n", "team-a", "-f", "-"], { input: rootPod("kyverno-probe") });
  if (
    create.code === 0 ||
    !/podsecurity-restricted/.test(create.stderr) ||
    !/require-requests-limits/.test(create.stderr)
  )
    throw new Error(
      `kubectl create of a root Pod: want denied by both policies, got ${create.code}: ${create.stderr.slice(0, 1000)}`,
    );
  log(`kubectl create of a root Pod without requests/limits: ${create.stderr.split("\n")[0]?.slice(0, 160)}`);
  const webhooks = await kubectl([
    "get",
    "validatingwebhookconfigurations",
    "-o",
    "jsonpath={.items[*].webhooks[*].clientConfig.url}",
  ]);
  log(`validating webhooks registered: ${webhooks}`);

  // A tollgate for the verdict check only (run.mjs starts its own for the load).
  const [tgPort, tgMetrics] = [await freePort(), await freePort()];
  const tollgate = track(
    process.execPath,
    [
      "dist/src/main.js",
      "serve",
      "--port",
      String(tgPort),
      "--metrics-port",
      String(tgMetrics),
      "--host",
      HOST,
      "--certs-dir",
      CERTS,
      "--log-level",
      "error",
    ],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  await waitFor(
    "tollgate",
    async () => (await call(`https://${HOST}:${tgPort}/healthz`, undefined, ca)).status === 200,
    30_000,
    () => tollgate.exitCode === null,
  );
  const servers = [
    { name: "tollgate", url: `https://${HOST}:${tgPort}/validate` },
    { name: "kyverno", url: `https://${HOST}:${port}/validate/fail` },
  ];
  /** @type {Record<string, Record<string, ReturnType<typeof verdictOf>>>} */
  const verdicts = {};
  const failures = [];
  for (const body of verdictBodies()) {
    const uid = JSON.parse(body.text).request.uid;
    for (const server of servers) {
      const answer = await call(server.url, body.text, ca);
      if (answer.status !== 200 || JSON.parse(answer.text).response?.uid !== uid)
        throw new Error(
          `${server.name} answered ${body.name} with ${answer.status}: ${answer.text.slice(0, 300)}`,
        );
      writeFileSync(join(WORK, "answers", `verdict-${server.name}-${body.name}.json`), `${answer.text}\n`);
      const v = verdictOf(server.name, answer.text);
      (verdicts[body.name] ??= {})[server.name] = v;
      const want = body.expect?.[/** @type {"tollgate" | "kyverno"} */ (server.name)];
      if (want && (v.allowed || !want.every((w) => v.reasons.includes(w))))
        failures.push(
          `${server.name} on ${body.name}: want denied by ${want.join(", ")}, got ${v.allowed ? "allowed" : `denied by ${v.reasons.join(", ")}`}`,
        );
    }
  }
  tollgate.kill("SIGTERM");
  const table = [
    "| body | tollgate | kyverno |",
    "| --- | --- | --- |",
    ...Object.entries(verdicts).map(
      ([body, v]) => `| ${body} | ${describe(v.tollgate)} | ${describe(v.kyverno)} |`,
    ),
  ].join("\n");
  writeFileSync(join(WORK, "kyverno-verdicts.json"), `${JSON.stringify(verdicts, null, 2)}\n`);
  writeFileSync(join(WORK, "kyverno-verdicts.md"), `${table}\n`);
  process.stdout.write(`${table}\n`);
  if (failures.length > 0) throw new Error(`verdict check failed:\n${failures.join("\n")}`);
  log("verdicts as expected");

  if (profileSeconds !== undefined) {
    const body = join(WORK, "kyverno-profile-body.json");
    writeFileSync(body, JSON.stringify(JSON.parse(readFileSync(join(FIXTURES, "pod-create.json"), "utf8"))));
    const wrk = track(
      "taskset",
      [
        "-c",
        "1",
        "wrk",
        "-t1",
        "-c32",
        `-d${profileSeconds + 4}s`,
        "-s",
        join(ROOT, "scripts/bench/wrk-post.lua"),
        `https://${HOST}:${port}/validate/fail`,
        "--",
        body,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let wrkOut = "";
    wrk.stdout?.on("data", (/** @type {Buffer} */ chunk) => {
      wrkOut += chunk.toString();
    });
    await new Promise((w) => setTimeout(w, 2000));
    const profile = join(WORK, "kyverno.pprof");
    // Not execFileSync: this process drains Kyverno's log pipe, and Kyverno blocks when it is full.
    const curl = track(
      "curl",
      [
        "-sf",
        "-m",
        String(profileSeconds + 30),
        "-o",
        profile,
        `http://${HOST}:${profilePort}/debug/pprof/profile?seconds=${profileSeconds}`,
      ],
      { stdio: "ignore" },
    );
    const curlCode = await new Promise((done) => curl.once("exit", (c) => done(c)));
    if (curlCode !== 0) throw new Error(`curl of the CPU profile exited ${curlCode}`);
    await new Promise((done) => (wrk.exitCode !== null ? done(undefined) : wrk.once("exit", done)));
    const top = execFileSync("go", ["tool", "pprof", "-top", "-nodecount=40", kyverno, profile], {
      cwd: join(ROOT, "scripts/bench/kyverno"),
      encoding: "utf8",
    });
    const cum = execFileSync("go", ["tool", "pprof", "-top", "-cum", "-nodecount=60", kyverno, profile], {
      cwd: join(ROOT, "scripts/bench/kyverno"),
      encoding: "utf8",
    });
    writeFileSync(join(WORK, "kyverno-pprof.txt"), `${wrkOut}\n${top}\n${cum}`);
    log(`profile in ${profile}, top in ${join(WORK, "kyverno-pprof.txt")}`);
  } else if (!flags["verdicts-only"]) {
    const kyvernoVersion = `Kyverno ${versionOf(kyverno)} admission controller (cmd/kyverno, built by scripts/kyverno.sh with ${execFileSync("go", ["env", "GOVERSION"], { encoding: "utf8" }).trim()}), out of cluster against kube-apiserver ${cp.kubernetesVersion} on 127.0.0.1, upstream's install arguments (--v=2, admission reports on) with webhook and metrics bound to 127.0.0.1, ClusterPolicies podsecurity-restricted and require-requests-limits in Enforce`;
    const runArgs = [
      "scripts/bench/run.mjs",
      "--peer-url",
      `https://${HOST}:${port}/validate/fail`,
      "--peer-name",
      "kyverno",
      "--peer-pid",
      String(kyvernoPid(child.pid)),
      "--peer-version",
      kyvernoVersion,
    ];
    if (flags["update-doc"]) runArgs.push("--update-doc");
    for (const f of /** @type {const} */ (["doc-section", "rounds", "seconds", "connections"]))
      if (flags[f] !== undefined) runArgs.push(`--${f}`, String(flags[f]));
    const apiserverCpuBefore = cpPids.map(cpuSeconds);
    const linesBefore = logLines;
    log(`node ${runArgs.join(" ")}`);
    const bench = track(process.execPath, runArgs, { stdio: "inherit" });
    const code = await new Promise((done) => bench.once("exit", (c) => done(c ?? 1)));
    const apiserverCpu = cpPids.map((pid, i) => cpuSeconds(pid) - (apiserverCpuBefore[i] ?? 0));
    log(
      `run.mjs exited ${code}; kyverno wrote ${logLines - linesBefore} log lines during it; etcd + kube-apiserver used ${apiserverCpu.map((s) => s.toFixed(1)).join(" + ")} CPU s`,
    );
    const reports = await kubectl(["get", "ephemeralreports", "-A", "--no-headers"]).catch(() => "");
    const events = await kubectl(["get", "events", "-A", "--no-headers"]).catch(() => "");
    log(
      `ephemeral reports in the cluster: ${reports.trim() ? reports.trim().split("\n").length : 0}; events: ${events.trim() ? events.trim().split("\n").length : 0}`,
    );
    if (code !== 0) process.exitCode = code;
  }
}

/** @param {Record<string, unknown> | undefined} v */
function describe(v) {
  if (!v) return "";
  const x = /** @type {ReturnType<typeof verdictOf>} */ (v);
  return `${x.allowed ? "allowed" : "denied"}${x.reasons.length ? ` (${x.reasons.join(", ")})` : ""}${x.warnings ? `, ${x.warnings} warning(s)` : ""}`;
}

/**
 * taskset execs the binary, so the child's PID is Kyverno's.
 * @param {number | undefined} pid
 */
function kyvernoPid(pid) {
  const comm = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  if (comm !== "kyverno") throw new Error(`process ${pid} is ${comm}, not kyverno`);
  return pid;
}

/** @param {string | number} pid user + system CPU seconds of a process */
function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** @param {string} binary the module version Go recorded in it */
function versionOf(binary) {
  const info = execFileSync("go", ["version", "-m", binary], { encoding: "utf8" });
  const dep = info.split("\n").find((l) => /^\s*(mod|dep)\s+github\.com\/kyverno\/kyverno\s/.test(l));
  return dep?.trim().split(/\s+/)[2] ?? "unknown";
}

main()
  .catch((error) => {
    log(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exitCode = 2;
  })
  .finally(async () => {
    clearTimeout(deadline);
    await stopEverything();
  });
