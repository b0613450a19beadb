/**
 * `npm run demo`: what tollgate does, in one command, with real kubectl output.
 *
 * Starts (building once, then reusing) a local kube-apiserver + etcd, runs `tollgate serve
 * --bootstrap` against it, and walks through three applies as an ordinary user: a Pod that runs
 * as root without limits in an enforce namespace (denied), the same Pod in a warn namespace
 * (admitted, with warnings), and `--dry-run=server` (the verdict, nothing stored). Everything it
 * started is stopped by PID at the end, on an error, and on Ctrl-C.
 *
 * Compiled by tsconfig.e2e.json to dist-e2e/, since it shares the end-to-end tests' harness.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type ControlPlane, type KubectlResult, startControlPlane } from "../test/e2e/controlplane.js";
import { compliantPod, rootPod } from "../test/e2e/manifests.js";
import { startTollgate, TOLLGATE_NAMESPACE, type Tollgate, waitForWebhook } from "../test/e2e/tollgate.js";

const ENFORCE = "shop";
const WARN = "shop-staging";

let cp: ControlPlane | undefined;
let tollgate: Tollgate | undefined;
let stopping: Promise<void> | undefined;

function say(text = ""): void {
  process.stdout.write(`${text}\n`);
}

function heading(text: string): void {
  say();
  say(`== ${text}`);
  say();
}

function stopEverything(): Promise<void> {
  stopping ??= (async () => {
    await tollgate?.stop();
    await cp?.stop();
  })();
  return stopping;
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: stopping tollgate, kube-apiserver and etcd\n`);
    void stopEverything().finally(() => process.exit(130));
  });
}

/** Shows a file the way a user would look at it, and writes it where kubectl runs. */
function showFile(name: string, text: string): void {
  writeFileSync(join(cp!.dir, name), text);
  say(`$ cat ${name}`);
  say(text.trimEnd());
  say();
}

/** Runs kubectl as alice (an ordinary user with the `edit` role) and prints what it printed. */
async function kubectl(args: string[]): Promise<KubectlResult> {
  say(`$ kubectl ${args.join(" ")}`);
  const r = await cp!.kubectl(args, { user: true });
  // kubectl prints warnings (stderr) before the result (stdout), as in a terminal.
  if (r.stderr) process.stdout.write(r.stderr);
  if (r.stdout) process.stdout.write(r.stdout);
  say(`(exit code ${r.code})`);
  say();
  return r;
}

async function main(): Promise<void> {
  heading("Starting a local control plane");
  say("kube-apiserver and etcd, built from Go modules on the first run (7-11 minutes), then cached.");
  cp = await startControlPlane();
  say(`kube-apiserver ${cp.kubernetesVersion} at ${cp.apiserverUrl}`);
  await cp.createNamespace(TOLLGATE_NAMESPACE);
  tollgate = await startTollgate(cp);
  say(`tollgate serve --bootstrap at ${tollgate.url} (PID ${tollgate.pid}, log: ${tollgate.logFile})`);
  say("It made a CA and a serving certificate, stored them in the Secret tollgate/tollgate-certs,");
  say("and created the ValidatingWebhookConfiguration 'tollgate' with that CA as its caBundle.");
  await waitForWebhook(cp);
  await cp.createNamespace(ENFORCE, { "tollgate.dev/mode": "enforce" });
  await cp.createNamespace(WARN, { "tollgate.dev/mode": "warn" });
  say(`Namespaces: ${ENFORCE} (tollgate.dev/mode=enforce), ${WARN} (tollgate.dev/mode=warn).`);
  say("kubectl below runs as alice, an ordinary user with the edit role.");

  heading(`1. A Pod that runs as root, without requests or limits, in ${ENFORCE} (enforce)`);
  showFile("web.yaml", rootPod("web"));
  await kubectl(["apply", "-n", ENFORCE, "-f", "web.yaml"]);
  say("Denied: the message lists every violation with its field path and fix; the other findings");
  say("are warnings. Nothing was stored:");
  say();
  await kubectl(["get", "pod", "web", "-n", ENFORCE]);

  heading(`2. The same Pod in ${WARN} (warn)`);
  await kubectl(["apply", "-n", WARN, "-f", "web.yaml"]);
  say("Admitted, with one Warning line per finding: a team sees what would be blocked before its");
  say("namespace is switched to enforce.");

  heading("3. --dry-run=server: the verdict without storing anything");
  await kubectl(["apply", "-n", ENFORCE, "--dry-run=server", "-f", "web.yaml"]);
  showFile("web-fixed.yaml", compliantPod("web"));
  await kubectl(["apply", "-n", ENFORCE, "--dry-run=server", "-f", "web-fixed.yaml"]);
  await kubectl(["get", "pods", "-n", ENFORCE]);
  say("The fixed Pod passes (the remaining warnings do not block); neither was stored.");

  heading("Done");
  say(`tollgate counted ${await tollgate.decisions()} admission decisions (tollgate_decisions_total on`);
  say(`http://127.0.0.1:${tollgate.metricsPort}/metrics). Stopping tollgate, kube-apiserver and etcd.`);
}

main().then(
  async () => {
    await stopEverything();
  },
  async (error: unknown) => {
    process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
    await stopEverything();
    process.exitCode = 1;
  },
);
