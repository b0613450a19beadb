import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.js";
import { resolveConfig } from "../../src/config/load.js";
import type { EvaluationLimits } from "../../src/engine/budget.js";
import { compilePolicy } from "../../src/engine/policy.js";
import { createMetrics, type Metrics } from "../../src/metrics.js";
import { buildRegistry, RULES } from "../../src/rules/index.js";
import type { PodSpecTarget, Rule } from "../../src/rules/types.js";
import { toolVersion } from "../../src/version.js";
import { review, rootPod } from "../support/reviews.js";
import { spin } from "./support.js";

const MIB = 1024 * 1024;

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

function start(registry?: ReadonlyMap<string, Rule>, limits?: EvaluationLimits) {
  const metrics = createMetrics();
  const lines: string[] = [];
  const policy = compilePolicy(resolveConfig({}), registry, limits);
  app = buildApp({
    policy: () => policy,
    metrics,
    logger: pino({ level: "info" }, { write: (line: string) => lines.push(line) }),
  });
  const send = (body: unknown, mode: "enforce" | "warn" = "enforce") =>
    app!.inject({
      method: "POST",
      url: `/validate/${mode}`,
      headers: { "content-type": "application/json" },
      payload: typeof body === "string" ? body : JSON.stringify(body),
    });
  return { metrics, lines, send };
}

/** A review whose `request.kind.kind` is `kind`, about an ordinary Pod. */
const reviewOfKind = (kind: string, uid: string) => {
  const body = review(rootPod(), { uid });
  body.request.kind = { group: "", version: "v1", kind };
  return body;
};

async function labelValues(metrics: Metrics): Promise<Map<string, Set<string>>> {
  const seen = new Map<string, Set<string>>();
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    for (const value of metric.values) {
      for (const [label, v] of Object.entries(value.labels)) {
        if (label === "le" || label === "quantile") continue;
        const key = `${metric.name}{${label}}`;
        const set = seen.get(key) ?? new Set<string>();
        set.add(String(v));
        seen.set(key, set);
      }
    }
  }
  return seen;
}

describe("tollgate_decisions_total{kind}", () => {
  it("labels kinds no rule names `other`: 200 made-up kinds add one series, not 200", async () => {
    const { metrics, send } = start();
    for (let i = 0; i < 200; i++) await send(reviewOfKind(`Made${i}`, `k${i}`));
    await send(reviewOfKind("Pod", "pod"));
    await send(reviewOfKind("Deployment", "deployment"));
    const values = (await metrics.decisions.get()).values.map((v) => ({ ...v.labels, value: v.value }));
    expect(values).toEqual([
      { verdict: "denied", kind: "other", mode: "enforce", value: 200 },
      { verdict: "denied", kind: "Pod", mode: "enforce", value: 1 },
      { verdict: "denied", kind: "Deployment", mode: "enforce", value: 1 },
    ]);
  });

  it("keeps no 3.5 MiB label value", async () => {
    const { metrics, send } = start();
    await send(reviewOfKind("K".repeat(3.5 * MIB), "big-kind"));
    const text = await metrics.registry.metrics();
    expect(text.length).toBeLessThan(64 * 1024);
    expect(text).toContain('tollgate_decisions_total{verdict="denied",kind="other",mode="enforce"} 1');
  });
});

describe("every metric label", () => {
  it("takes its value from a fixed set or the rule ids of the config, never from the request", async () => {
    const slow: Rule<PodSpecTarget> = {
      id: "slow-rule",
      title: "slow",
      category: "security",
      defaultSeverity: "warn",
      targets: ["podSpec"],
      kinds: ["Pod"],
      description: "Burns CPU.",
      remediation: "```yaml\n{}\n```",
      check() {
        spin(3);
        throw new Error("and then throws");
      },
    };
    const registry = buildRegistry([...RULES.values(), slow as unknown as Rule]);
    const { metrics, send } = start(registry, { slowRuleMs: 1, budgetMs: 1_000 });
    const hostile = "h".repeat(10_000);
    await send(reviewOfKind(hostile, "kind"));
    await send(reviewOfKind(hostile, "kind-warn"), "warn");
    const named = review(
      { ...rootPod(hostile), metadata: { name: hostile, namespace: hostile } },
      {
        uid: hostile,
        username: hostile,
        groups: [hostile],
      },
    );
    await send(named);
    await send("{ not json");
    await send({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: { uid: hostile } });
    const allowed: Record<string, ReadonlySet<string>> = {
      verdict: new Set(["allowed", "warned", "denied", "skipped"]),
      mode: new Set(["enforce", "warn"]),
      kind: new Set([...new Set([...registry.values()].flatMap((r) => r.kinds)), "other"]),
      rule: new Set(registry.keys()),
      severity: new Set(["deny", "warn"]),
      reason: new Set([
        "malformed-json",
        "too-large",
        "media-type",
        "internal",
        "bad-request",
        "not-a-review",
      ]),
      result: new Set(["applied", "rejected"]),
      certificate: new Set(["serving", "ca"]),
      // Set once at start-up from package.json and the running Node.js, never from a request.
      version: new Set([toolVersion()]),
      node: new Set([process.version]),
    };
    const seen = await labelValues(metrics);
    expect([...seen.keys()].sort()).toEqual([
      "tollgate_admission_duration_seconds{mode}",
      "tollgate_build_info{node}",
      "tollgate_build_info{version}",
      "tollgate_decisions_total{kind}",
      "tollgate_decisions_total{mode}",
      "tollgate_decisions_total{verdict}",
      "tollgate_findings_total{mode}",
      "tollgate_findings_total{rule}",
      "tollgate_findings_total{severity}",
      "tollgate_invalid_requests_total{reason}",
      "tollgate_rule_errors_total{rule}",
      "tollgate_rule_slow_total{rule}",
    ]);
    for (const [key, values] of seen) {
      const label = key.slice(key.indexOf("{") + 1, -1);
      for (const value of values) {
        const shown = value.slice(0, 80);
        expect({ key, value: shown, allowed: allowed[label]?.has(value) }).toEqual({
          key,
          value: shown,
          allowed: true,
        });
      }
    }
  });
});

describe("log lines", () => {
  it("clip every string they take from the request to 256 characters", async () => {
    const thrower: Rule<PodSpecTarget> = {
      id: "throwing-rule",
      title: "throws",
      category: "security",
      defaultSeverity: "warn",
      targets: ["podSpec"],
      kinds: ["Pod"],
      description: "Throws, slowly, with the object's name in its error.",
      remediation: "```yaml\n{}\n```",
      check(target) {
        spin(3);
        throw new Error(`cannot judge ${target.object.name}`);
      },
    };
    const { lines, send } = start(buildRegistry([thrower as unknown as Rule]), {
      slowRuleMs: 1,
      budgetMs: 1_000,
    });
    const long = (c: string) => c.repeat(MIB);
    const body = review(
      {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: long("n"), namespace: long("s") },
        spec: { containers: [] },
      },
      { uid: long("u"), username: long("a") },
    );
    body.request.kind = { group: "", version: "v1", kind: long("K") };
    const res = await send(body);
    expect(res.statusCode).toBe(200);
    for (const line of lines) expect(line.length).toBeLessThan(4096);
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const clip = (c: string) => `${c.repeat(255)}…`;
    expect(parsed.find((l) => l.msg === "decision")).toMatchObject({
      uid: clip("u"),
      kind: clip("K"),
      namespace: clip("s"),
      name: clip("n"),
      user: clip("a"),
    });
    expect(parsed.find((l) => l.msg === "rule failed")).toMatchObject({
      uid: clip("u"),
      kind: clip("K"),
      namespace: clip("s"),
      name: clip("n"),
      rule: "throwing-rule",
      err: `cannot judge ${"n".repeat(242)}…`,
    });
    expect(parsed.find((l) => l.msg === "rule slow")).toMatchObject({ uid: clip("u"), kind: clip("K") });
  });
});
