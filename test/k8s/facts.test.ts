import type { V1Namespace, V1NetworkPolicy, V1PodDisruptionBudget } from "@kubernetes/client-node";
import { describe, expect, it, vi } from "vitest";
import { type CachedInformer, isDefaultDenyIngress, watchClusterFacts } from "../../src/k8s/facts.js";
import { selectorMatches } from "../../src/objects/selectors.js";
import { factsFrom } from "../rules/fixtures.js";

function policy(namespace: string, spec: V1NetworkPolicy["spec"]): V1NetworkPolicy {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: "p", namespace },
    spec,
  };
}

function pdb(namespace: string, selector: V1PodDisruptionBudget["spec"] extends infer S ? S : never) {
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: { name: "b", namespace },
    spec: selector,
  };
}

describe("isDefaultDenyIngress", () => {
  it.each([
    ["empty podSelector, Ingress, no rules", { podSelector: {}, policyTypes: ["Ingress"] }, true],
    ["policyTypes absent (Ingress implied)", { podSelector: {} }, true],
    ["Ingress and Egress", { podSelector: {}, policyTypes: ["Ingress", "Egress"] }, true],
    ["Egress only", { podSelector: {}, policyTypes: ["Egress"] }, false],
    ["selects some pods", { podSelector: { matchLabels: { app: "web" } }, policyTypes: ["Ingress"] }, false],
    ["allows some ingress", { podSelector: {}, policyTypes: ["Ingress"], ingress: [{}] }, false],
  ])("%s → %s", (_name, spec, expected) => {
    expect(isDefaultDenyIngress(policy("team-a", spec as V1NetworkPolicy["spec"]))).toBe(expected);
  });
});

describe("selectorMatches", () => {
  const labels = { app: "web", tier: "frontend" };
  it.each([
    [{}, true],
    [{ matchLabels: { app: "web" } }, true],
    [{ matchLabels: { app: "api" } }, false],
    [{ matchExpressions: [{ key: "tier", operator: "In", values: ["frontend", "edge"] }] }, true],
    [{ matchExpressions: [{ key: "tier", operator: "NotIn", values: ["frontend"] }] }, false],
    [{ matchExpressions: [{ key: "track", operator: "NotIn", values: ["canary"] }] }, true],
    [{ matchExpressions: [{ key: "app", operator: "Exists" }] }, true],
    [{ matchExpressions: [{ key: "app", operator: "DoesNotExist" }] }, false],
    [{ matchExpressions: [{ key: "app", operator: "Gt", values: ["1"] }] }, false],
  ])("%j → %s", (selector, expected) => {
    expect(selectorMatches(selector, labels)).toBe(expected);
  });

  it("selects nothing without a selector", () => {
    expect(selectorMatches(undefined, labels)).toBe(false);
  });
});

describe("CachedClusterFacts from recorded objects", () => {
  const facts = factsFrom({
    networkPolicies: [policy("team-a", { podSelector: {}, policyTypes: ["Ingress"] })],
    podDisruptionBudgets: [pdb("team-a", { maxUnavailable: 1, selector: { matchLabels: { app: "web" } } })],
  });

  it("answers per namespace", () => {
    expect(facts.hasDefaultDenyIngress("team-a")).toBe(true);
    expect(facts.hasDefaultDenyIngress("team-b")).toBe(false);
    expect(facts.pdbSelects("team-a", { app: "web" })).toBe(true);
    expect(facts.pdbSelects("team-a", { app: "api" })).toBe(false);
    expect(facts.pdbSelects("team-b", { app: "web" })).toBe(false);
  });
});

/** An informer that lists `items` when started, as makeInformer's would after its first list. */
function fakeInformer<T extends { metadata?: { namespace?: string } }>(items: T[]) {
  let listed: T[] = [];
  const handlers: ((error: unknown) => void)[] = [];
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const informer = {
    on: vi.fn((verb: string, cb: (error: unknown) => void) => {
      if (verb === "error") handlers.push(cb);
    }),
    off: vi.fn(),
    start: vi.fn(async () => {
      await gate;
      listed = items;
    }),
    stop: vi.fn(async () => undefined),
    get: (name: string) => listed.find((o) => (o.metadata as { name?: string } | undefined)?.name === name),
    list: (namespace?: string) =>
      listed.filter((o) => namespace === undefined || o.metadata?.namespace === namespace),
  };
  return {
    informer: informer as unknown as CachedInformer<T>,
    release,
    fail: (error: unknown) => {
      for (const handler of handlers) handler(error);
    },
  };
}

describe("watchClusterFacts", () => {
  it("stays silent until both caches have synced", async () => {
    const policies = fakeInformer<V1NetworkPolicy>([]);
    const budgets = fakeInformer<V1PodDisruptionBudget>([]);
    const handle = watchClusterFacts(policies.informer, budgets.informer);
    expect(handle.facts.hasDefaultDenyIngress("team-a")).toBeUndefined();
    expect(handle.facts.pdbSelects("team-a", { app: "web" })).toBeUndefined();
    policies.release();
    budgets.release();
    await handle.synced;
    expect(handle.facts.hasDefaultDenyIngress("team-a")).toBe(false);
    expect(handle.facts.pdbSelects("team-a", { app: "web" })).toBe(false);
    await handle.stop();
    expect(policies.informer.stop).toHaveBeenCalledOnce();
  });

  it("knows a Namespace once the Namespace cache has synced too", async () => {
    const policies = fakeInformer<V1NetworkPolicy>([]);
    const budgets = fakeInformer<V1PodDisruptionBudget>([]);
    const shop: V1Namespace = {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "shop", labels: { tier: "prod" } },
    };
    const namespaces = fakeInformer<V1Namespace>([shop]);
    const handle = watchClusterFacts(policies.informer, budgets.informer, undefined, namespaces.informer);
    policies.release();
    budgets.release();
    expect(handle.facts.namespace?.("shop")).toBeUndefined();
    namespaces.release();
    await handle.synced;
    expect(handle.facts.namespace?.("shop")).toEqual(shop);
    expect(handle.facts.namespace?.("elsewhere")).toBeUndefined();
    await handle.stop();
    expect(namespaces.informer.stop).toHaveBeenCalledOnce();
  });

  it("logs a failed watch and restarts it after a pause", async () => {
    vi.useFakeTimers();
    try {
      const policies = fakeInformer<V1NetworkPolicy>([]);
      const budgets = fakeInformer<V1PodDisruptionBudget>([]);
      const log = { warn: vi.fn() };
      const handle = watchClusterFacts(policies.informer, budgets.informer, log);
      policies.release();
      budgets.release();
      await handle.synced;
      policies.fail(new Error("watch closed"));
      expect(log.warn).toHaveBeenCalledWith(
        { informer: "networkpolicies", err: "Error: watch closed" },
        "informer failed; restarting",
      );
      expect(policies.informer.start).toHaveBeenCalledTimes(1);
      await vi.advanceTimersByTimeAsync(5_000);
      expect(policies.informer.start).toHaveBeenCalledTimes(2);
      await handle.stop();
    } finally {
      vi.useRealTimers();
    }
  });
});
