import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { compileServedPolicy } from "../../src/cli/policies.js";
import { ConfigError, loadConfigFile } from "../../src/config/load.js";
import { fingerprint, MAX_WATCHED_ENTRIES, watchConfig } from "../../src/config/watch.js";
import type { Policy } from "../../src/engine/policy.js";
import { createMetrics } from "../../src/metrics.js";

const POLICY = join(import.meta.dirname, "..", "fixtures", "policies", "team-label", "policy.yaml");
const BROKEN = join(import.meta.dirname, "..", "fixtures", "policies", "team-label", "broken", "policy.yaml");
const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function configDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "tollgate-served-"));
  dirs.push(dir);
  mkdirSync(join(dir, "policies"));
  copyFileSync(POLICY, join(dir, "policies", "team.yaml"));
  return dir;
}

describe("serve: the config's policies, loaded with it and reloaded with it", () => {
  it("compiles the policies a config names, relative to the config's folder, as rules", () => {
    const dir = configDir();
    writeFileSync(
      join(dir, "tollgate.yaml"),
      "policies: [policies]\nrules:\n  prod-replicas: {severity: warn}\n",
    );
    const path = join(dir, "tollgate.yaml");
    const policy = compileServedPolicy(loadConfigFile(path), path);
    expect([...policy.registry.keys()].slice(-2)).toEqual(["require-team-label", "prod-replicas"]);
    expect(policy.bySource.admission.kinds).toContain("Deployment");
  });

  it("refuses a config whose policy does not compile, naming file, line, policy and field", () => {
    const dir = configDir();
    copyFileSync(BROKEN, join(dir, "policies", "broken.yaml"));
    writeFileSync(join(dir, "tollgate.yaml"), "policies: [policies]\n");
    const path = join(dir, "tollgate.yaml");
    expect(() => compileServedPolicy(loadConfigFile(path), path)).toThrow(
      new ConfigError(
        `invalid policies in ${path}:\n  ${join(dir, "policies", "broken.yaml")}:9: ValidatingAdmissionPolicy "broken": spec.validations[0].expression: type error: found no matching overload for 'dyn.nosuch()' (at 1:1)`,
      ),
    );
  });

  it("keeps the last good policies when a reload brings a broken one, and takes the next good one", () => {
    const dir = configDir();
    const path = join(dir, "tollgate.yaml");
    writeFileSync(path, "policies: [policies/team.yaml]\n");
    let policy: Policy = compileServedPolicy(loadConfigFile(path), path);
    const errors: string[] = [];
    const watcher = watchConfig({
      path,
      apply: (next) => {
        policy = compileServedPolicy(next, path);
      },
      metrics: createMetrics(),
      log: { info: () => undefined, error: (fields) => errors.push(String((fields as { err: string }).err)) },
      intervalMs: 60_000,
    });
    try {
      copyFileSync(BROKEN, join(dir, "policies", "broken.yaml"));
      writeFileSync(path, "policies: [policies/team.yaml, policies/broken.yaml]\n");
      expect(watcher.reload()).toBe("rejected");
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(/^invalid policies in .*tollgate\.yaml:\n {2}.*broken\.yaml:9: /);
      expect(policy.registry.has("require-team-label")).toBe(true);

      writeFileSync(path, "policies: []\n");
      expect(watcher.reload()).toBe("applied");
      expect(policy.registry.has("require-team-label")).toBe(false);
    } finally {
      watcher.close();
    }
  });

  it("lets the config exempt from or set the severity of its own policy, and refuses an unknown id", () => {
    const dir = configDir();
    const path = join(dir, "tollgate.yaml");
    writeFileSync(path, "policies: [policies]\nrules:\n  no-such-policy: {severity: warn}\n");
    expect(() => compileServedPolicy(loadConfigFile(path), path)).toThrow(
      `invalid config:\n  ${path}:3: rules: unknown rule id "no-such-policy" (see \`tollgate rules\`)`,
    );
  });

  it("reloads when a policy file changes while the config file does not, and keeps the last good on a broken one", async () => {
    const dir = configDir();
    const path = join(dir, "tollgate.yaml");
    writeFileSync(path, "policies: [policies]\n");
    const config = loadConfigFile(path);
    let policy: Policy = compileServedPolicy(config, path);
    const seen: string[] = [];
    const watcher = watchConfig({
      path,
      policies: config.policies,
      apply: (next) => {
        policy = compileServedPolicy(next, path);
      },
      metrics: createMetrics(),
      log: { info: (_f, message) => seen.push(message), error: (_f, message) => seen.push(message) },
      intervalMs: 20,
    });
    const until = async (count: number) => {
      const deadline = Date.now() + 3_000;
      while (seen.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      return seen.length;
    };
    try {
      const team = join(dir, "policies", "team.yaml");
      // A second policy dropped into the folder.
      writeFileSync(
        join(dir, "policies", "tier.yaml"),
        readFileSync(team, "utf8")
          .split("\n---\n")[0]!
          .replaceAll("require-team-label", "require-tier-label"),
      );
      expect(await until(1)).toBe(1);
      expect(seen).toEqual(["config reloaded"]);
      expect(policy.registry.has("require-tier-label")).toBe(true);
      // A broken one: rejected, the two good ones stay.
      copyFileSync(BROKEN, join(dir, "policies", "broken.yaml"));
      expect(await until(2)).toBe(2);
      expect(seen[1]).toBe("config rejected; the last good config stays in force");
      expect(policy.registry.has("require-tier-label")).toBe(true);
      // Fixing the policy file (the config file unchanged) is a change too.
      rmSync(join(dir, "policies", "broken.yaml"));
      rmSync(join(dir, "policies", "tier.yaml"));
      expect(await until(3)).toBe(3);
      expect(seen[2]).toBe("config reloaded");
      expect(policy.registry.has("require-tier-label")).toBe(false);
      expect(policy.registry.has("require-team-label")).toBe(true);
    } finally {
      watcher.close();
    }
  });

  it("follows the kubelet's swap of a mounted policies ConfigMap (links through ..data)", async () => {
    const dir = configDir();
    const mount = join(dir, "mounted");
    const team = readFileSync(POLICY, "utf8").split("\n---\n")[0]!;
    for (const [version, name] of [
      ["..v1", "require-team-label"],
      ["..v2", "require-owner-label"],
    ] as const) {
      mkdirSync(join(mount, version), { recursive: true });
      writeFileSync(join(mount, version, "policy.yaml"), team.replaceAll("require-team-label", name));
    }
    symlinkSync("..v1", join(mount, "..data"));
    symlinkSync(join("..data", "policy.yaml"), join(mount, "policy.yaml"));
    const path = join(dir, "tollgate.yaml");
    writeFileSync(path, `policies: [${mount}]\n`);
    const config = loadConfigFile(path);
    let policy: Policy = compileServedPolicy(config, path);
    expect(policy.registry.has("require-team-label")).toBe(true);
    let applied = 0;
    const watcher = watchConfig({
      path,
      policies: config.policies,
      apply: (next) => {
        policy = compileServedPolicy(next, path);
        applied++;
      },
      metrics: createMetrics(),
      log: { info: () => undefined, error: () => undefined },
      intervalMs: 20,
    });
    try {
      await new Promise((r) => setTimeout(r, 60));
      expect(applied).toBe(0);
      symlinkSync("..v2", join(mount, "..data_tmp"));
      renameSync(join(mount, "..data_tmp"), join(mount, "..data"));
      const deadline = Date.now() + 3_000;
      while (applied === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(applied).toBe(1);
      expect(policy.registry.has("require-owner-label")).toBe(true);
      expect(policy.registry.has("require-team-label")).toBe(false);
    } finally {
      watcher.close();
    }
  });

  it("stamps no more than MAX_WATCHED_ENTRIES files below the policy folders", () => {
    const dir = configDir();
    const many = join(dir, "many");
    mkdirSync(many);
    for (let index = 0; index < MAX_WATCHED_ENTRIES + 10; index++)
      writeFileSync(join(many, `${index}.yaml`), "");
    expect(fingerprint([many]).split("\n")).toHaveLength(MAX_WATCHED_ENTRIES);
    expect(fingerprint([join(dir, "absent")])).toBe(`${join(dir, "absent")} cannot read (ENOENT)`);
  });
});
