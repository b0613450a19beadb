import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { CHECK_HELP } from "../../src/cli/check.js";
import { missingKubeConfig, SERVICE_ACCOUNT_TOKEN } from "../../src/cli/kubeconfig.js";
import { RULES_HELP } from "../../src/cli/rules.js";
import { runTollgate } from "./run.js";

const dir = mkdtempSync(join(tmpdir(), "tollgate-errors-"));
// The unprivileged child must reach the files the test makes.
chmodSync(dir, 0o755);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const RBAC = "test/fixtures/check/tree/rbac.json";

/**
 * Whether an unprivileged user can reach `path` (every folder from it up searchable by others).
 * A clone under mktemp's 0700 folder is not reachable, nor is a Node binary cached under root's
 * 0700 home: the child would then read nothing, or not start at all (spawn EACCES).
 */
function reachableByOthers(path: string): boolean {
  for (let at = path; ; at = dirname(at)) {
    if ((statSync(at).mode & 0o001) === 0) return false;
    if (dirname(at) === at) return true;
  }
}
const unprivilegedChildCanRun = reachableByOthers(process.cwd()) && reachableByOthers(process.execPath);

describe("errors that help (child process: the exit code and the streams are the process's own)", () => {
  test.concurrent("`tollgate help check` and `tollgate check --help` print the command's help", async () => {
    const [help, flag, short] = await Promise.all([
      runTollgate(["help", "check"]),
      runTollgate(["check", "--help"]),
      runTollgate(["check", "-h"]),
    ]);
    for (const ran of [help, flag, short]) {
      expect(ran.stdout).toBe(`${CHECK_HELP}\n`);
      expect(ran.stderr).toBe("");
      expect(ran.code).toBe(0);
    }
    const rules = await runTollgate(["help", "rules"]);
    expect(rules.stdout).toBe(`${RULES_HELP}\n`);
    expect(rules.code).toBe(0);
  });

  test.concurrent("an unknown command, alone or after help, suggests the nearest one", async () => {
    const [typo, help, far, two] = await Promise.all([
      runTollgate(["chekc"]),
      runTollgate(["help", "audti"]),
      runTollgate(["help", "zebra"]),
      runTollgate(["help", "check", "audit"]),
    ]);
    expect(typo.stderr).toBe(
      `tollgate: unknown command "chekc" (did you mean check?)\nRun 'tollgate help' for the list of commands.\n`,
    );
    expect(help.stderr).toBe(
      `tollgate help: unknown command "audti" (did you mean audit?)\nRun 'tollgate help' for the list of commands.\n`,
    );
    expect(far.stderr).toBe(
      `tollgate help: unknown command "zebra"\nRun 'tollgate help' for the list of commands.\n`,
    );
    expect(two.stderr).toBe("tollgate help: give one command, not 2\n");
    for (const ran of [typo, help, far, two]) {
      expect(ran.stdout).toBe("");
      expect(ran.code).toBe(2);
    }
  });

  test.concurrent.each([
    [
      ["check", RBAC, "--ouput", "json"],
      "tollgate check: unknown option --ouput (did you mean --output?)\nRun 'tollgate check --help' for usage.\n",
    ],
    [
      ["rules", "extra"],
      `tollgate rules: unexpected argument "extra"\nRun 'tollgate rules --help' for usage.\n`,
    ],
    [
      ["audit", "--kubconfig", "k"],
      "tollgate audit: unknown option --kubconfig (did you mean --kubeconfig?)\nRun 'tollgate audit --help' for usage.\n",
    ],
    [
      ["serve", "--port", "x"],
      `tollgate serve: --port must be a port number from 0 to 65535, got "x"\nRun 'tollgate serve --help' for usage.\n`,
    ],
    [
      ["certs", "bootstrap", "--ca"],
      "tollgate certs: --ca goes with tollgate certs rotate\nRun 'tollgate certs --help' for usage.\n",
    ],
    [
      ["manifests", "--image", ""],
      `tollgate manifests: --image "" is not an image reference\nRun 'tollgate manifests --help' for usage.\n`,
    ],
    [["test", "--output"], "tollgate test: --output needs a value\nRun 'tollgate test --help' for usage.\n"],
  ])("%j: one style for every command, exit 2", async (args, stderr) => {
    const ran = await runTollgate(args);
    expect(ran.stderr).toBe(stderr);
    expect(ran.stdout).toBe("");
    expect(ran.code).toBe(2);
  });

  test.skipIf(!unprivilegedChildCanRun)(
    "a folder that cannot be listed is an input error naming it; the other inputs are still checked",
    async () => {
      const locked = join(dir, "locked");
      mkdirSync(join(locked, "inside"), { recursive: true });
      copyFileSync(RBAC, join(locked, "inside", "rbac.json"));
      chmodSync(locked, 0o000);
      // Wide: the temporary folder's path is as long as the machine makes it.
      const env = { ...process.env, COLUMNS: "300" };
      const ran = await runTollgate(["check", locked, RBAC], { unprivileged: true, env });
      chmodSync(locked, 0o755);
      expect(ran.stdout).toBe(`${RBAC}:2  ClusterRole everything
  16  deny  rbac-wildcard  rule 1 grants "*" in verbs

input errors (not checked):
  error  ${locked}: cannot list the folder: permission denied (EACCES)

findings by rule, with the fix of each rule's first finding (--explain: every finding's own):
  1 deny  rbac-wildcard
          fix: list the verbs the subject needs instead of "*" in rules[1]

1 finding (1 deny, 0 warn) in 1 object in 1 file (enforce mode), score 0; 1 error
`);
      expect(ran.stderr).toBe("");
      expect(ran.code).toBe(2);
    },
  );

  test.skipIf(existsSync(SERVICE_ACCOUNT_TOKEN))(
    "audit without a kubeconfig says none was found and where it looked, not http://localhost:8080",
    async () => {
      const home = join(dir, "home");
      mkdirSync(home);
      const { KUBECONFIG: _unset, ...env } = process.env;
      const ran = await runTollgate(["audit"], { env: { ...env, HOME: home } });
      expect(ran.stderr).toBe(
        `tollgate audit: no kubeconfig found; looked at $KUBECONFIG (not set), ${home}/.kube/config (no such file), the in-cluster service account (no ${SERVICE_ACCOUNT_TOKEN}). Give --kubeconfig FILE or set KUBECONFIG\n`,
      );
      expect(ran.stdout).toBe("");
      expect(ran.code).toBe(2);
    },
  );
});

describe("missingKubeConfig follows the client's default chain", () => {
  const none = () => false;
  test("any link of the chain is enough", () => {
    expect(missingKubeConfig({ KUBECONFIG: "/k" }, none)).toBeUndefined();
    expect(missingKubeConfig({ HOME: "/h" }, (path) => path === "/h/.kube/config")).toBeUndefined();
    expect(missingKubeConfig({}, (path) => path === SERVICE_ACCOUNT_TOKEN)).toBeUndefined();
  });

  test("an empty KUBECONFIG counts as unset, as the client reads it", () => {
    expect(missingKubeConfig({ KUBECONFIG: "", HOME: "/h" }, none)).toBe(
      `no kubeconfig found; looked at $KUBECONFIG (not set), /h/.kube/config (no such file), the in-cluster service account (no ${SERVICE_ACCOUNT_TOKEN}). Give --kubeconfig FILE or set KUBECONFIG`,
    );
  });

  test("without HOME, it says so", () => {
    expect(missingKubeConfig({}, none)).toBe(
      `no kubeconfig found; looked at $KUBECONFIG (not set), ~/.kube/config ($HOME is not set), the in-cluster service account (no ${SERVICE_ACCOUNT_TOKEN}). Give --kubeconfig FILE or set KUBECONFIG`,
    );
  });
});
