import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, describe, expect, test } from "vitest";
import { runCheck } from "../../src/cli/check.js";
import { captureIO } from "./helpers.js";
import { runTollgate } from "./run.js";

const dir = mkdtempSync(join(tmpdir(), "tollgate-inputs-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A Pod that passes every deny rule but for the two fields written the YAML 1.1 way. */
const ROOT_POD = `apiVersion: v1
kind: Pod
metadata:
  name: root
spec:
  securityContext:
    runAsNonRoot: true
    seccompProfile: {type: RuntimeDefault}
  automountServiceAccountToken: false
  serviceAccountName: app
  containers:
  - name: app
    image: registry.example/app@sha256:${"0".repeat(64)}
    securityContext:
      runAsUser: 0_0
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      capabilities: {drop: [ALL]}
    ports:
    - containerPort: 8080
      hostPort: 8_0
    resources:
      requests: {cpu: 100m, memory: 64Mi}
      limits: {cpu: 100m, memory: 64Mi}
    livenessProbe: {tcpSocket: {port: 8080}}
    readinessProbe: {tcpSocket: {port: 8080}}
`;

function rootPodReport(file: string): string {
  return `${file}:1  Pod root
  15  deny  run-as-root  container "app" sets securityContext.runAsUser=0 (root)
  21  deny  host-port    container "app" binds hostPort 80

findings by rule, with the fix of each rule's first finding (--explain: every finding's own):
  1 deny  host-port
          fix: remove hostPort from container "app"; expose it through a Service
  1 deny  run-as-root
          fix: set securityContext.runAsUser to a non-zero UID on container "app"

2 findings (2 deny, 0 warn) in 1 object in 1 file (enforce mode), score 0
`;
}

/**
 * The text report wraps at 100 columns off a terminal; the temporary folder's path, in every
 * message here, is as long as the machine makes it: wide, each message is one line anywhere.
 */
const WIDE = { ...process.env, COLUMNS: "300" };

/** 30 KB: 3,000 aliased containers, each with 3,000 aliased env entries named like a credential. */
function aliasBomb(): string {
  const env = ["&e {name: PASSWORD, value: b}", ...Array<string>(2999).fill("*e")].join(", ");
  const containers = [`- &c {name: c, image: x, env: [${env}]}`, ...Array<string>(2999).fill("- *c")];
  return `apiVersion: v1\nkind: Pod\nmetadata:\n  name: bomb\nspec:\n  containers:\n  ${containers.join("\n  ")}\n`;
}

const root = join(dir, "src", "root.yaml");
mkdirSync(join(dir, "src"));
writeFileSync(root, ROOT_POD);

describe("tollgate check reads what kubectl apply would send (child process, exit codes)", () => {
  test.concurrent(
    "runAsUser: 0_0 and hostPort: 8_0 are root and port 80, as go-yaml reads them",
    async () => {
      const ran = await runTollgate(["check", root], { env: WIDE });
      expect(ran.stdout).toBe(rootPodReport(root));
      expect(ran.stderr).toBe("");
      expect(ran.code).toBe(1);
    },
  );

  test.concurrent(
    "a manifest that is a symbolic link in a folder is checked; folder links are walked once",
    async () => {
      const tree = join(dir, "tree");
      mkdirSync(join(tree, "app"), { recursive: true });
      symlinkSync(join("..", "..", "src", "root.yaml"), join(tree, "app", "pod.yaml"));
      // A link back to a parent and a link to the folder itself: each would walk forever.
      symlinkSync("..", join(tree, "app", "up"));
      symlinkSync(".", join(tree, "self"));
      const ran = await runTollgate(["check", tree], { env: WIDE });
      expect(ran.stdout).toBe(rootPodReport(join(tree, "app", "pod.yaml")));
      expect(ran.code).toBe(1);
    },
  );

  test.concurrent("a dangling symbolic link is an input error that names it", async () => {
    const dangling = join(dir, "dangling");
    mkdirSync(dangling);
    symlinkSync("missing.yaml", join(dangling, "pod.yaml"));
    symlinkSync("missing.md", join(dangling, "README.md"));
    const ran = await runTollgate(["check", dangling], { env: WIDE });
    expect(ran.stdout).toBe(
      `input errors (not checked):
  error  ${join(dangling, "pod.yaml")}: a symbolic link to missing.yaml, which does not exist

no findings in 0 objects in 0 files (enforce mode); 1 error
`,
    );
    expect(ran.code).toBe(2);
  });

  test.concurrent("empty stdin (a failed `helm template` before the pipe) exits 2", async () => {
    const ran = await runTollgate(["check", "-"], { stdin: "" });
    expect(ran.stdout).toBe(
      `input errors (not checked):
  error  no Kubernetes object in the input (1 file, 0 documents); nothing was checked

no findings in 0 objects in 1 file (enforce mode); 1 error
`,
    );
    expect(ran.stderr).toBe("");
    expect(ran.code).toBe(2);
  });

  test.concurrent(
    "the alias bomb is refused as kubectl refuses it, fast, naming the file and line",
    async () => {
      const bomb = join(dir, "bomb.yaml");
      writeFileSync(bomb, aliasBomb());
      const ran = await runTollgate(["check", bomb], { env: WIDE });
      // Line 24 holds the 17th alias of the container, where the aliases pass 99 % of the nodes.
      expect(ran.stdout).toBe(
        `input errors (not checked):
  error  ${bomb}:24: excessive aliasing: its aliases expand to 303091 of the 306133 nodes read so far; kubectl refuses it too ("document contains excessive aliasing")

no findings in 0 objects in 1 file (enforce mode); 1 error
`,
      );
      // It used to run 45 s and die of OOM (exit 134). How fast it is now is the benchmark's to
      // say, not a timed test's: the refusal at line 24, before any expansion, is what proves it.
      expect(ran.code).toBe(2);
      expect(ran.signal).toBeNull();
    },
  );
});

async function check(args: string[], stdin: AsyncIterable<Buffer> | string = "") {
  const captured = captureIO(
    typeof stdin === "string" ? { stdin, env: { COLUMNS: "300" } } : { env: { COLUMNS: "300" } },
  );
  if (typeof stdin !== "string") captured.io.stdin = stdin;
  const code = await runCheck(args, captured.io);
  return { code, stdout: captured.stdout(), stderr: captured.stderr() };
}

const TOO_LARGE =
  "larger than 64 MiB, so not read; split it (tollgate check takes several files and folders)";

describe("inputs are bounded", () => {
  test("a comment-only stream holds no object: exit 2, and stderr says so beside a JSON report", async () => {
    const { code, stdout, stderr } = await check(["-", "--output", "json"], "# rendered nothing\n---\n");
    expect(code).toBe(2);
    expect(stderr).toBe(
      "tollgate check: no Kubernetes object in the input (1 file, 0 documents); nothing was checked\n",
    );
    expect(JSON.parse(stdout).errors).toEqual([
      {
        file: null,
        line: null,
        message: "no Kubernetes object in the input (1 file, 0 documents); nothing was checked",
      },
    ]);
  });

  test("stdin is read up to 64 MiB, then let go: an endless pipe is an input error", async () => {
    let pulled = 0;
    const endless = Readable.from(
      (function* () {
        for (;;) {
          pulled++;
          yield Buffer.alloc(1024 * 1024, "#");
        }
      })(),
    );
    const { code, stdout } = await check(["-"], endless);
    expect(code).toBe(2);
    expect(stdout).toContain(`error  <stdin>: ${TOO_LARGE}\n`);
    expect(pulled).toBeLessThanOrEqual(66);
    expect(endless.destroyed).toBe(true);
  });

  test("a file past the bound is not read, nor /dev/zero, which has no size", async () => {
    const big = join(dir, "big.yaml");
    writeFileSync(big, "");
    truncateSync(big, 64 * 1024 * 1024 + 1);
    const { code, stdout } = await check([big, "/dev/zero"]);
    expect(code).toBe(2);
    expect(stdout).toBe(
      `input errors (not checked):
  error  ${big}: ${TOO_LARGE}
  error  /dev/zero: ${TOO_LARGE}

no findings in 0 objects in 0 files (enforce mode); 2 errors
`,
    );
  });
});
