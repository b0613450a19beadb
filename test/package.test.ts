/**
 * The tarball users install the `tollgate` command from: `npm pack` (whose prepack builds dist/
 * from scratch), then `npm install -g` of it into a temporary prefix, as a user would, and the
 * installed command run from elsewhere. About 40 s: a build and an install.
 *
 * The install is `--prefer-offline`: dependencies come from the npm cache that `npm ci` filled,
 * and only what is missing from the registry. `--offline` is not enough from a cache that only
 * `npm ci` filled: npm 11 resolves a tarball's dependency ranges with full registry documents,
 * and `npm ci` caches only the abbreviated ones.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const REPO = join(import.meta.dirname, "..");
const { version } = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { version: string };
const dir = mkdtempSync(join(tmpdir(), "tollgate-pack-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Packed {
  filename: string;
  files: { path: string }[];
}

describe("npm pack and npm install -g of the tarball", () => {
  it("installs a working `tollgate` that holds only the built JavaScript, README, LICENSE and package.json", async () => {
    const packed = await run("npm", ["pack", "--json", "--pack-destination", dir], {
      cwd: REPO,
      maxBuffer: 16 * 1024 * 1024,
    });
    const [tarball] = JSON.parse(packed.stdout) as Packed[];
    expect(tarball!.filename).toBe(`tollgate-dev-tollgate-${version}.tgz`);
    const paths = tarball!.files.map((file) => file.path);
    const others = paths.filter((path) => !/^dist\/src\/.+\.js$/.test(path));
    expect(others.sort()).toEqual(["LICENSE", "README.md", "package.json"]);
    expect(paths).toContain("dist/src/main.js");
    expect(paths.filter((path) => /(^|\/)test\/|\.test\.|\.ts$|\.map$/.test(path))).toEqual([]);

    const prefix = join(dir, "prefix");
    await run(
      "npm",
      [
        "install",
        "--global",
        "--prefix",
        prefix,
        "--prefer-offline",
        "--no-audit",
        "--no-fund",
        tarball!.filename,
      ],
      { cwd: dir, maxBuffer: 16 * 1024 * 1024 },
    );
    const tollgate = join(prefix, "bin", "tollgate");
    // From another folder, so that nothing of the checkout is found by accident.
    const shown = await run(tollgate, ["--version"], { cwd: dir });
    expect(shown).toEqual({ stdout: `${version}\n`, stderr: "" });
    const checked = await run(tollgate, ["check", join(REPO, "manifests")], { cwd: dir });
    expect(checked).toEqual({
      stdout:
        "no findings in 8 objects in 16 files (enforce mode)\n" +
        "8 objects not covered: CustomResourceDefinition (apiextensions.k8s.io/v1) x2, Kustomization\n" +
        "  (kustomize.config.k8s.io/v1beta1), NetworkPolicy (networking.k8s.io/v1) x2, PodDisruptionBudget\n" +
        "  (policy/v1), Service (v1), ValidatingWebhookConfiguration (admissionregistration.k8s.io/v1)\n",
      stderr: "",
    });
  }, 300_000);
});
