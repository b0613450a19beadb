/**
 * `tollgate export vap` against the real kube-apiserver, with no tollgate running: the exported
 * policy and its per-mode bindings are applied as they are printed, and the apiserver alone denies
 * in an enforce namespace, warns in a warn namespace and in unlabelled ones (defaultMode warn), and
 * says nothing in an `off` or excluded namespace.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ControlPlane, eventually, startControlPlane } from "./controlplane.js";
import { TOLLGATE_MAIN } from "./tollgate.js";

const BUILD_AND_START_TIMEOUT_MS = 45 * 60 * 1000;
const MODE = "tollgate.dev/mode";
const POLICY = "require-team-label";
const MESSAGE = "every Deployment carries a team label";

const POLICY_YAML = `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: ${POLICY}}
spec:
  matchConstraints:
    resourceRules:
      - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [deployments]}
  validations:
    - expression: "has(object.metadata.labels) && 'team' in object.metadata.labels"
      message: "${MESSAGE}"
`;

const CONFIG_YAML = `defaultMode: warn
excludedNamespaces: [kube-system, kube-public, kube-node-lease, tollgate, legacy]
`;

function deployment(name: string, labels = ""): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
${labels === "" ? "" : `  labels: {${labels}}\n`}spec:
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers: [{name: web, image: registry.example/web:1.0}]
`;
}

let cp: ControlPlane;
let dir: string;

const dryRun = (namespace: string, yaml: string) =>
  cp.kubectl(["apply", "--dry-run=server", "-n", namespace, "-f", "-"], { user: true, input: yaml });

describe("tollgate export vap: the rollout carried by the apiserver alone", () => {
  beforeAll(async () => {
    cp = await startControlPlane();
    dir = mkdtempSync(join(tmpdir(), "tollgate-export-"));
    writeFileSync(join(dir, "policy.yaml"), POLICY_YAML);
    writeFileSync(join(dir, "tollgate.yaml"), `${CONFIG_YAML}policies: [policy.yaml]\n`);
    for (const [name, mode] of [
      ["ex-enforce", "enforce"],
      ["ex-warn", "warn"],
      ["ex-off", "off"],
      ["ex-plain", undefined],
      ["legacy", "enforce"],
    ] as const) {
      await cp.createNamespace(name, mode ? { [MODE]: mode } : {});
    }
  }, BUILD_AND_START_TIMEOUT_MS);

  afterAll(async () => {
    await cp?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("prints a policy and bindings that apply cleanly", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [
      TOLLGATE_MAIN,
      "export",
      "vap",
      "--config",
      join(dir, "tollgate.yaml"),
    ]);
    expect(stdout).toContain("# namespaces labelled tollgate.dev/mode=enforce\n");
    const applied = await cp.kubectl(["apply", "-f", "-"], { input: stdout });
    expect(applied.stderr).toBe("");
    expect(applied.stdout.split("\n").filter(Boolean).sort()).toEqual([
      `validatingadmissionpolicy.admissionregistration.k8s.io/${POLICY} created`,
      `validatingadmissionpolicybinding.admissionregistration.k8s.io/${POLICY}-cluster created`,
      `validatingadmissionpolicybinding.admissionregistration.k8s.io/${POLICY}-default created`,
      `validatingadmissionpolicybinding.admissionregistration.k8s.io/${POLICY}-enforce created`,
      `validatingadmissionpolicybinding.admissionregistration.k8s.io/${POLICY}-warn created`,
    ]);
  });

  it("denies in enforce, warns in warn and unlabelled namespaces, is silent in off and excluded ones", async () => {
    // The apiserver picks the policy and each binding up from its informers, one object at a time:
    // a first denial in ex-enforce does not mean the warn and default bindings are in force yet.
    const seen = async (namespace: string, binding: string) =>
      (await dryRun(namespace, deployment("web"))).stderr.includes(`with binding '${POLICY}-${binding}'`);
    await eventually("the enforce binding", () => seen("ex-enforce", "enforce"), 60_000);
    await eventually("the warn binding", () => seen("ex-warn", "warn"), 60_000);
    await eventually("the default binding", () => seen("ex-plain", "default"), 60_000);

    const denied = await dryRun("ex-enforce", deployment("web"));
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain(
      `ValidatingAdmissionPolicy '${POLICY}' with binding '${POLICY}-enforce' denied request: ${MESSAGE}`,
    );

    const warned = await dryRun("ex-warn", deployment("web"));
    expect(warned.code).toBe(0);
    expect(warned.stderr).toBe(
      `Warning: Validation failed for ValidatingAdmissionPolicy '${POLICY}' with binding '${POLICY}-warn': ${MESSAGE}\n`,
    );
    expect(warned.stdout).toBe("deployment.apps/web created (server dry run)\n");

    const plain = await dryRun("ex-plain", deployment("web"));
    expect(plain.code).toBe(0);
    expect(plain.stderr).toBe(
      `Warning: Validation failed for ValidatingAdmissionPolicy '${POLICY}' with binding '${POLICY}-default': ${MESSAGE}\n`,
    );

    for (const namespace of ["ex-off", "legacy"]) {
      const silent = await dryRun(namespace, deployment("web"));
      expect({ namespace, code: silent.code, stderr: silent.stderr }).toEqual({
        namespace,
        code: 0,
        stderr: "",
      });
    }

    const labelled = await dryRun("ex-enforce", deployment("web", "team: shop"));
    expect(labelled).toMatchObject({ code: 0, stderr: "" });
  });
});
