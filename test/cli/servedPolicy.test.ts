import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { compileServedPolicy } from "../../src/cli/policies.js";
import { ConfigError, loadConfigFile } from "../../src/config/load.js";
import { watchConfig } from "../../src/config/watch.js";
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
});
