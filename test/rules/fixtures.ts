import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ObjectCache, V1NetworkPolicy, V1PodDisruptionBudget } from "@kubernetes/client-node";
import { load } from "js-yaml";
import { resolveConfig } from "../../src/config/load.js";
import type { ConfigInput } from "../../src/config/schema.js";
import { type Evaluation, evaluate, type Operation, type UserInfo } from "../../src/engine/evaluate.js";
import { compilePolicy } from "../../src/engine/policy.js";
import { CachedClusterFacts } from "../../src/k8s/facts.js";
import type { ClusterFacts, Mode, Rule, Source } from "../../src/rules/types.js";
import type { KubeObject } from "../../src/objects/object.js";

/**
 * Rule fixtures live in test/fixtures/rules/<rule-id>/{pass,fail}-<what>.yaml.
 *
 * A fixture is one Kubernetes object per file, or, for rules that need more than the object,
 * a wrapper with these keys (all but `object` optional):
 *   object:     the object under review
 *   oldObject:  the object before an UPDATE
 *   operation:  CREATE (default) or UPDATE
 *   userInfo:   {username, groups} of the requester (the webhook's request.userInfo)
 *   facts:      {networkPolicies: [...], podDisruptionBudgets: [...]}, recorded objects that
 *               fill the informer cache; without it the cluster-facts rules have no cache
 *   config:     config keys (as in the config file) merged over the defaults
 *   source:     admission (default), check or audit
 *   mode:       enforce (default) or warn
 * A fail fixture lists the exact findings the rule must report, in order, as comment lines
 * `# expect: <field path> | <message>`.
 */
export interface Fixture {
  file: string;
  object: KubeObject;
  oldObject?: KubeObject;
  operation: Operation;
  userInfo?: UserInfo;
  facts?: ClusterFacts;
  config: ConfigInput;
  source: Source;
  mode: Mode;
  expected: { path: string; message: string }[];
}

export const FIXTURES_DIR = fileURLToPath(new URL("../fixtures/rules/", import.meta.url));

/** The clock every fixture runs at, so exemption dates in fixtures stay valid. */
export const FIXTURE_NOW = new Date("2026-06-01T12:00:00Z");

function cacheOf<T extends { metadata?: { namespace?: string } }>(objects: T[]): ObjectCache<T> {
  return {
    get: () => undefined,
    list: (namespace?: string) =>
      namespace === undefined ? objects : objects.filter((o) => o.metadata?.namespace === namespace),
  };
}

/** ClusterFacts from recorded NetworkPolicies and PodDisruptionBudgets, as a synced cache. */
export function factsFrom(recorded: {
  networkPolicies?: V1NetworkPolicy[];
  podDisruptionBudgets?: V1PodDisruptionBudget[];
}): ClusterFacts {
  return new CachedClusterFacts(
    cacheOf(recorded.networkPolicies ?? []),
    cacheOf(recorded.podDisruptionBudgets ?? []),
    () => true,
  );
}

export function loadFixture(file: string): Fixture {
  const text = readFileSync(file, "utf8");
  const expected = text
    .split("\n")
    .filter((line) => line.startsWith("# expect: "))
    .map((line) => {
      const body = line.slice("# expect: ".length);
      const bar = body.indexOf(" | ");
      return { path: body.slice(0, bar), message: body.slice(bar + 3) };
    });
  const doc = load(text) as Record<string, unknown>;
  if (!("object" in doc) || "kind" in doc) {
    return {
      file,
      object: doc,
      operation: "CREATE",
      config: {},
      source: "admission",
      mode: "enforce",
      expected,
    };
  }
  const facts = doc.facts as Parameters<typeof factsFrom>[0] | undefined;
  return {
    file,
    object: doc.object as KubeObject,
    ...(doc.oldObject ? { oldObject: doc.oldObject as KubeObject } : {}),
    operation: (doc.operation as Operation | undefined) ?? "CREATE",
    ...(doc.userInfo ? { userInfo: doc.userInfo as UserInfo } : {}),
    ...(facts ? { facts: factsFrom(facts) } : {}),
    config: (doc.config as ConfigInput | undefined) ?? {},
    source: (doc.source as Source | undefined) ?? "admission",
    mode: (doc.mode as Mode | undefined) ?? "enforce",
    expected,
  };
}

/** The fixture files of one rule, by kind. */
export function fixturesOf(ruleId: string): { pass: string[]; fail: string[] } {
  let names: string[];
  try {
    names = readdirSync(join(FIXTURES_DIR, ruleId)).sort();
  } catch {
    names = [];
  }
  const full = (name: string) => join(FIXTURES_DIR, ruleId, name);
  return {
    pass: names.filter((n) => n.startsWith("pass-") && n.endsWith(".yaml")).map(full),
    fail: names.filter((n) => n.startsWith("fail-") && n.endsWith(".yaml")).map(full),
  };
}

/** Evaluate a fixture with the rule switched on (at its default severity, or warn for rules off by default). */
export function evaluateFixture(rule: Rule, fixture: Fixture): Evaluation {
  const configured = fixture.config.rules?.[rule.id] ?? {};
  const config = resolveConfig({
    ...fixture.config,
    rules: {
      ...fixture.config.rules,
      [rule.id]: { ...configured, severity: rule.defaultSeverity === "off" ? "warn" : rule.defaultSeverity },
    },
  });
  return evaluate(
    {
      object: fixture.object,
      oldObject: fixture.oldObject,
      operation: fixture.operation,
      userInfo: fixture.userInfo,
      mode: fixture.mode,
      source: fixture.source,
      facts: fixture.facts,
      now: FIXTURE_NOW,
    },
    compilePolicy(config),
  );
}
