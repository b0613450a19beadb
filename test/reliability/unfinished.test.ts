import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.js";
import { resolveConfig } from "../../src/config/load.js";
import type { ConfigInput } from "../../src/config/schema.js";
import type { EvaluationLimits } from "../../src/engine/budget.js";
import { compilePolicy } from "../../src/engine/policy.js";
import { createMetrics, type Metrics } from "../../src/metrics.js";
import { hostNamespaces } from "../../src/rules/host-namespaces.js";
import { hostPathVolume } from "../../src/rules/host-path-volume.js";
import { buildRegistry } from "../../src/rules/index.js";
import type { PodSpecTarget, RawFinding, Rule } from "../../src/rules/types.js";
import { review } from "../support/reviews.js";
import { spin } from "./support.js";

function rule(id: string, check: () => RawFinding[], defaultSeverity: "deny" | "warn" = "warn"): Rule {
  const defined: Rule<PodSpecTarget> = {
    id,
    title: id,
    category: "security",
    defaultSeverity,
    targets: ["podSpec"],
    kinds: ["Pod"],
    description: "A rule for reliability tests.",
    remediation: "```yaml\n{}\n```",
    check,
  };
  return defined as unknown as Rule;
}

const erase = (r: Rule<PodSpecTarget>) => r as unknown as Rule;

/** A rule that burns 60 ms of CPU and finds nothing: past a 40 ms budget on its own. */
const stuck = rule("stuck-rule", () => {
  spin(60);
  return [];
});
const later = rule("later-rule", () => [{ path: "spec", message: "later", fix: "none" }]);

/** A Pod on the host network with the node's root mounted: two deny findings, whoever is asked. */
const hostPod = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "web", namespace: "team-a" },
  spec: {
    hostNetwork: true,
    volumes: [{ name: "root", hostPath: { path: "/" } }],
    containers: [{ name: "web", image: "registry.example.com/web:1.4.2" }],
  },
};

const HOST_DENIALS =
  'tollgate: Pod "web" in namespace "team-a" has 2 violations:\n' +
  "- host-namespaces: pod sets hostNetwork=true at spec.hostNetwork. Fix: remove hostNetwork from the pod spec\n" +
  '- host-path-volume: volume "root" mounts the node\'s filesystem (/) at spec.volumes[name=root].hostPath. Fix: replace hostPath volume "root" with a persistentVolumeClaim, emptyDir, configMap or secret';

const TIME_RAN_OUT = (budget: number, notApplied: string) =>
  `the rules ran \\d+(\\.\\d)? ms on this object, over the ${budget} ms budget; ${notApplied}`;

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

interface Answer {
  uid: string;
  allowed: boolean;
  status?: { code: number; reason: string; message: string };
  warnings?: string[];
}

async function answer(
  object: Record<string, unknown>,
  mode: "enforce" | "warn",
  options: { rules?: Rule[]; config?: ConfigInput; limits?: EvaluationLimits } = {},
): Promise<{ response: Answer; metrics: Metrics; lines: Record<string, unknown>[]; bytes: number }> {
  const lines: Record<string, unknown>[] = [];
  const metrics = createMetrics();
  const policy = compilePolicy(
    resolveConfig(options.config ?? {}),
    options.rules && buildRegistry(options.rules),
    options.limits,
  );
  app = buildApp({
    policy: () => policy,
    metrics,
    logger: pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line)) }),
  });
  const res = await app.inject({
    method: "POST",
    url: `/validate/${mode}`,
    headers: { "content-type": "application/json" },
    payload: JSON.stringify(review(object, { uid: "uid-unfinished" })),
  });
  expect(res.statusCode).toBe(200);
  return {
    response: (res.json() as { response: Answer }).response,
    metrics,
    lines,
    bytes: res.body.length,
  };
}

describe("an evaluation that runs out of time", () => {
  const rules = [stuck, later, erase(hostNamespaces), erase(hostPathVolume)];
  const limits = { slowRuleMs: 1_000, budgetMs: 40 };

  it("denies in enforce mode with the default onRuleError: allow, and ran the deny rules first", async () => {
    const { response, metrics } = await answer(hostPod, "enforce", { rules, limits });
    expect(response.uid).toBe("uid-unfinished");
    expect(response.allowed).toBe(false);
    expect(response.status?.code).toBe(403);
    expect(response.status?.message).toMatch(
      new RegExp(
        `^${escape(HOST_DENIALS)}\\ntollgate: could not finish judging the object at rule stuck-rule: ${TIME_RAN_OUT(40, "1 later rule was not applied")}; it is denied until tollgate can judge it in full$`,
      ),
    );
    expect(response.warnings).toHaveLength(1);
    expect(response.warnings?.[0]).toMatch(
      new RegExp(
        `^tollgate: judging did not finish at rule stuck-rule: ${TIME_RAN_OUT(40, "1 later rule was not applied")}; tell your platform team$`,
      ),
    );
    // Running out of time is not a rule error: onRuleError and tollgate_rule_errors_total are for rules that throw.
    expect((await metrics.ruleErrors.get()).values).toEqual([]);
    expect((await metrics.ruleSlow.get()).values).toEqual([{ labels: { rule: "stuck-rule" }, value: 1 }]);
  });

  it("denies without the fail-closed line when onRuleError is deny: no rule threw", async () => {
    const { response } = await answer(hostPod, "enforce", {
      rules,
      limits,
      config: { onRuleError: "deny" },
    });
    expect(response.allowed).toBe(false);
    expect(response.status?.message).not.toContain("fails closed");
    expect(response.status?.message).toMatch(
      /\ntollgate: could not finish judging the object at rule stuck-rule: /,
    );
  });

  it("is allowed in warn mode, with the deny rules' findings and a warning that judging did not finish", async () => {
    const { response } = await answer(hostPod, "warn", { rules, limits });
    expect(response.allowed).toBe(true);
    expect(response.status).toBeUndefined();
    expect(response.warnings?.slice(0, 2)).toEqual([
      "host-namespaces: pod sets hostNetwork=true (spec.hostNetwork)",
      'host-path-volume: volume "root" mounts the node\'s filesystem (/) (spec.volumes[name=root].hostPath)',
    ]);
    expect(response.warnings).toHaveLength(3);
    expect(response.warnings?.[2]).toMatch(
      new RegExp(
        `^tollgate: judging did not finish at rule stuck-rule: ${TIME_RAN_OUT(40, "1 later rule was not applied")}; tell your platform team$`,
      ),
    );
  });

  it("that ends at the last rule finished: every rule was applied, so the verdict is the findings'", async () => {
    const { response, metrics } = await answer(hostPod, "enforce", {
      rules: [erase(hostNamespaces), erase(hostPathVolume), stuck],
      limits,
    });
    expect(response).toEqual({
      uid: "uid-unfinished",
      allowed: false,
      status: { code: 403, reason: "Forbidden", message: HOST_DENIALS },
    });
    expect((await metrics.ruleSlow.get()).values).toEqual([{ labels: { rule: "stuck-rule" }, value: 1 }]);
  });

  it("lists the findings in catalog order whatever order the rules ran in", async () => {
    const { response } = await answer(hostPod, "warn", {
      rules: [
        later,
        erase(hostNamespaces),
        rule("warn-last", () => [{ path: "spec", message: "last", fix: "x" }]),
      ],
    });
    expect(response.warnings).toEqual([
      "later-rule: later (spec)",
      "host-namespaces: pod sets hostNetwork=true (spec.hostNetwork)",
      "warn-last: last (spec)",
    ]);
  });
});

describe("a pod spec with more containers than tollgate visits", () => {
  /** 100 000 init containers with nothing set, on the host network with / mounted: 2.8 MB of JSON. */
  const wide = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "wide", namespace: "team-a" },
    spec: {
      hostNetwork: true,
      volumes: [{ name: "root", hostPath: { path: "/" } }],
      initContainers: Array.from({ length: 100_000 }, (_, i) => ({ name: `i${i}` })),
      containers: [{ name: "web", image: "registry.example.com/web:1.4.2" }],
    },
  };

  it("is judged on the first 1000 only, fast, and denied in enforce mode as not judged in full", async () => {
    const { response, metrics, lines } = await answer(wide, "enforce");
    expect(response.allowed).toBe(false);
    const message = response.status?.message.split("\n") ?? [];
    expect(message[0]).toMatch(/^tollgate: Pod "wide" in namespace "team-a" has \d+ violations:$/);
    expect(message[1]).toBe(
      '- container-requests-missing: container "i0" has no requests.cpu or requests.memory at spec.initContainers[name=i0].resources.requests. Fix: set resources.requests.cpu and resources.requests.memory on container "i0"',
    );
    expect(message.at(-1)).toBe(
      "tollgate: could not finish judging the object at rule container-requests-missing: the pod spec has 100001 containers; tollgate judges at most 1000; it is denied until tollgate can judge it in full",
    );
    // Without the bound each container rule ran for hundreds of milliseconds on this object.
    expect((await metrics.ruleSlow.get()).values).toEqual([]);
    expect(lines.filter((l) => l.msg === "rule slow")).toEqual([]);
    expect(lines.find((l) => l.msg === "rule failed")).toMatchObject({
      rule: "container-requests-missing",
      err: "the pod spec has 100001 containers; tollgate judges at most 1000",
    });
    expect((await metrics.ruleErrors.get()).values).toEqual([]);
  });

  it("is allowed in warn mode with a warning that judging did not finish", async () => {
    const { response } = await answer(wide, "warn");
    expect(response.allowed).toBe(true);
    expect(response.warnings).toContain(
      "tollgate: judging did not finish at rule container-requests-missing: the pod spec has 100001 containers; tollgate judges at most 1000; tell your platform team",
    );
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
