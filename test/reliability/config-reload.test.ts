import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.js";
import { loadConfigFile } from "../../src/config/load.js";
import { type ConfigWatcher, watchConfig } from "../../src/config/watch.js";
import { compilePolicy, type Policy } from "../../src/engine/policy.js";
import { createMetrics, type Metrics } from "../../src/metrics.js";
import { loggerOptions } from "../../src/log.js";
import { RULES } from "../../src/rules/index.js";
import { compliantPod, review, rootPod } from "../support/reviews.js";
import { testCertificates } from "../support/server.js";

const knownRules = new Set(RULES.keys());
let dir: string;
let path: string;
let metrics: Metrics;
let lines: Record<string, unknown>[];
let policy: Policy;
let watcher: ConfigWatcher;
let app: FastifyInstance;
let port: number;
let ca: string;
let stamp = Date.now() / 1000;

/** Write the config and move its mtime forward, so a poll sees the change even within a second. */
function writeConfig(text: string): void {
  writeFileSync(path, text);
  stamp += 10;
  utimesSync(path, stamp, stamp);
}

async function reloads(result: "applied" | "rejected"): Promise<number> {
  const values = (await metrics.configReloads.get()).values;
  return values.find((v) => v.labels.result === result)?.value ?? 0;
}

/** tollgate_config_last_reload_success_timestamp_seconds. */
async function lastReload(): Promise<number> {
  return (await metrics.configLastReload.get()).values[0]?.value ?? 0;
}

/** Wait for the poller to count a reload with this result, for up to 3 s. */
async function polled(result: "applied" | "rejected"): Promise<number> {
  const deadline = Date.now() + 3_000;
  while ((await reloads(result)) === 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return reloads(result);
}

/** A config that allows images from one registry only. */
function hardened(registry: string): string {
  return `rules:\n  image-registry-untrusted: { severity: deny }\nallowedRegistries: [${registry}]\n`;
}

/** A Pod that passes every rule but, when it is not allowed, the registry one. */
function podFrom(registry: string): Record<string, unknown> {
  const pod = compliantPod();
  const containers = (pod.spec as { containers: { image: string }[] }).containers;
  containers[0]!.image = `${registry}/web:1.4.2`;
  return pod;
}

const agent = new Agent({ keepAlive: true, maxSockets: 16 });
function validate(
  uid: string,
  object: Record<string, unknown> = rootPod(),
): Promise<{ status: number; uid: unknown; allowed: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path: "/validate",
        method: "POST",
        agent,
        ca,
        servername: "localhost",
        headers: { "content-type": "application/json" },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("end", () => {
          const response = (JSON.parse(text) as { response?: { uid: unknown; allowed: unknown } }).response;
          resolve({ status: res.statusCode ?? 0, uid: response?.uid, allowed: response?.allowed });
        });
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify(review(object, { uid })));
  });
}

beforeAll(async () => {
  const certificates = await testCertificates();
  ca = certificates.ca.cert;
  dir = mkdtempSync(join(tmpdir(), "tollgate-reload-"));
  path = join(dir, "config.yaml");
});
afterAll(() => {
  agent.destroy();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  writeConfig("defaultMode: enforce\n");
  metrics = createMetrics();
  lines = [];
  const log = pino(loggerOptions("info"), { write: (line: string) => lines.push(JSON.parse(line)) });
  policy = compilePolicy(loadConfigFile(path, knownRules));
  watcher = watchConfig({
    path,
    knownRules,
    apply: (next) => {
      policy = compilePolicy(next);
    },
    metrics,
    log,
    intervalMs: 50,
  });
  const certificates = await testCertificates();
  app = buildApp({
    https: certificates.serving,
    policy: () => policy,
    metrics,
    logger: pino({ level: "silent" }),
    // The keep-alive agent's connection would hold each close for the grace; no test here is about it.
    timeouts: { closeIdleGraceMs: 0 },
  });
  await app.listen({ port: 0, host: "127.0.0.1" });
  port = (app.server.address() as AddressInfo).port;
});
afterEach(async () => {
  watcher.close();
  await app.close();
});

describe("config reload", () => {
  it.each([
    ["bad YAML", "defaultMode: [enforce\n", /config\.yaml:\d+:\d+: invalid YAML: /],
    [
      "a schema error",
      "defaultMode: maybe\n",
      /config\.yaml:1: defaultMode: must be one of "enforce", "warn"/,
    ],
    ["an unknown rule", "rules:\n  no-such-rule:\n    severity: warn\n", /unknown rule id "no-such-rule"/],
  ])("rejects %s, logs why, counts it, and keeps the last good config", async (_name, text, why) => {
    writeConfig(text);
    expect(watcher.reload()).toBe("rejected");
    expect(await reloads("rejected")).toBe(1);
    expect(await reloads("applied")).toBe(0);
    const line = lines.find((l) => l.msg === "config rejected; the last good config stays in force");
    expect(line).toMatchObject({ level: "error", config: path });
    expect(line?.err).toMatch(why);
    expect(policy.config.defaultMode).toBe("enforce");
    expect(await lastReload()).toBe(0);
    expect(await validate("still-enforced")).toEqual({ status: 200, uid: "still-enforced", allowed: false });
  });

  it("rejects an emptied file and keeps the hardened config: an untrusted image stays denied", async () => {
    writeConfig(hardened("registry.example.com"));
    expect(watcher.reload()).toBe("applied");
    expect(await validate("hardened", podFrom("evil.example"))).toMatchObject({ allowed: false });
    // `: > config.yaml`, noticed by the poller.
    writeConfig("");
    expect(await polled("rejected")).toBe(1);
    expect(lines.at(-1)?.err).toBe(
      `${path}: the config file is empty (nothing but whitespace or comments); write {} to ask for the defaults`,
    );
    expect(await reloads("applied")).toBe(1);
    expect(policy.config.allowedRegistries).toEqual(["registry.example.com"]);
    expect(await validate("still-hardened", podFrom("evil.example"))).toMatchObject({ allowed: false });
    expect(await validate("trusted", podFrom("registry.example.com"))).toMatchObject({ allowed: true });
  });

  it("applies a ConfigMap update: the ..data link swapped to a file of the same size and mtime", async () => {
    watcher.close();
    // The layout the kubelet makes: config.yaml -> ..data/config.yaml, ..data -> ..<timestamp>.
    const mount = join(dir, "mount");
    const stampOf = Date.now() / 1000 - 3600;
    for (const [version, registry] of [
      ["..2026_01_01_v1", "registry-a.example"],
      ["..2026_01_01_v2", "registry-b.example"],
    ] as const) {
      mkdirSync(join(mount, version), { recursive: true });
      writeFileSync(join(mount, version, "config.yaml"), hardened(registry));
      utimesSync(join(mount, version, "config.yaml"), stampOf, stampOf);
    }
    symlinkSync("..2026_01_01_v1", join(mount, "..data"));
    symlinkSync(join("..data", "config.yaml"), join(mount, "config.yaml"));
    const mounted = join(mount, "config.yaml");
    policy = compilePolicy(loadConfigFile(mounted, knownRules));
    const log = pino(loggerOptions("info"), { write: (line: string) => lines.push(JSON.parse(line)) });
    watcher = watchConfig({
      path: mounted,
      knownRules,
      apply: (next) => {
        policy = compilePolicy(next);
      },
      metrics,
      log,
      intervalMs: 50,
    });
    expect(await validate("before-swap", podFrom("registry-b.example"))).toMatchObject({ allowed: false });
    await new Promise((resolve) => setTimeout(resolve, 120));
    // The swap, as the kubelet does it: a new link renamed over ..data in one step.
    symlinkSync("..2026_01_01_v2", join(mount, "..data_tmp"));
    renameSync(join(mount, "..data_tmp"), join(mount, "..data"));
    expect(await polled("applied")).toBe(1);
    expect(policy.config.allowedRegistries).toEqual(["registry-b.example"]);
    expect(await validate("after-swap", podFrom("registry-b.example"))).toMatchObject({ allowed: true });
  });

  it("rejects a config file that went away", async () => {
    rmSync(path);
    expect(watcher.reload()).toBe("rejected");
    expect(lines.at(-1)?.err).toBe(`${path}: cannot read the config file (ENOENT)`);
    expect(policy.config.defaultMode).toBe("enforce");
  });

  it("notices a change by polling, applies a valid file, and says when", async () => {
    const written = Date.now() / 1000;
    writeConfig("defaultMode: warn\n");
    const deadline = Date.now() + 3_000;
    while ((await reloads("applied")) === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(await reloads("applied")).toBe(1);
    expect(await lastReload()).toBeGreaterThanOrEqual(Math.floor(written));
    expect(await lastReload()).toBeLessThanOrEqual(Date.now() / 1000);
    expect(lines.find((l) => l.msg === "config reloaded")).toMatchObject({ level: "info", config: path });
    expect(await validate("now-warned")).toEqual({ status: 200, uid: "now-warned", allowed: true });
  });

  it("answers every request while configs are swapped under load, each by one config or the other", async () => {
    let stop = false;
    let sent = 0;
    const answers: { status: number; uid: unknown; allowed: unknown; expectedUid: string }[] = [];
    const worker = async (id: number) => {
      while (!stop) {
        const uid = `load-${id}-${sent++}`;
        answers.push({ ...(await validate(uid)), expectedUid: uid });
      }
    };
    // Reload by hand only, so that the counts below are exact.
    watcher.close();
    const workers = Array.from({ length: 8 }, (_, i) => worker(i));
    const modes = ["warn", "enforce", "maybe", "warn", "enforce", "[", "warn"];
    for (const mode of modes) {
      await new Promise((resolve) => setTimeout(resolve, 60));
      writeConfig(`defaultMode: ${mode}\n`);
      watcher.reload();
    }
    await new Promise((resolve) => setTimeout(resolve, 60));
    stop = true;
    await Promise.all(workers);
    expect(answers.length).toBeGreaterThan(50);
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.uid).toBe(answer.expectedUid);
      expect(typeof answer.allowed).toBe("boolean");
    }
    expect(new Set(answers.map((a) => a.allowed))).toEqual(new Set([true, false]));
    expect(await reloads("applied")).toBe(5);
    expect(await reloads("rejected")).toBe(2);
    expect(policy.config.defaultMode).toBe("warn");
  });
});
